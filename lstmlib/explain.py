"""Does attention explain a classifier's decision? The measurements of Jain & Wallace (2019), for our models.

Every function takes a :class:`lstmlib.models.sentiment.SentimentLSTM` with
attention pooling (eval mode) and ``encoded``: a list of N sentences as
word-id arrays ``(n_i,)`` (:func:`lstmlib.models.sentiment.encode_texts`).
Per-word results come back as a list of N float64 arrays ``(n_i,)``, one
value per word. "The output" is the probability of the positive class,
``p = softmax(logits)[1]``; for two classes the total variation distance
between two output distributions is just ``|p - p'|``.

* :func:`attention_of` -- the model's attention weights and ``p``;
* :func:`gradient_importance` -- ``‖∂p/∂e_t‖``, the gradient norm with respect
  to each word's embedding (Simonyan et al. 2013's saliency, for text);
* :func:`leave_one_out_importance` -- ``|p(x) - p(x without word t)|``
  (Li et al. 2016's erasure);
* :func:`kendall_taus` -- rank agreement of two importance orders, per sentence;
* :func:`output_with_weights` -- ``p`` when the LSTM outputs are pooled with
  weights of our choosing (the model's own, permuted, uniform, adversarial);
* :func:`permuted_attention_change` -- median ``|Δp|`` over random permutations
  of each sentence's weights;
* :func:`adversarial_attention` -- weights as far (Jensen-Shannon) from the
  model's own as possible while ``|Δp|`` stays within ``epsilon``.

The LSTM reads the words in every case; only the pooling weights change.
That is the experiment's point: if very different weights give the same
decision, the weights do not say which words the decision rests on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.stats import kendalltau

from lstmlib._checks import check_array_type, check_positive_int, check_positive_number, check_rng
from lstmlib.masking import lengths_to_mask
from lstmlib.models.sentiment import SentimentLSTM
from lstmlib.text import pad_batch

__all__ = [
    "adversarial_attention",
    "attention_of",
    "gradient_importance",
    "jensen_shannon",
    "kendall_taus",
    "leave_one_out_importance",
    "output_with_weights",
    "permuted_attention_change",
]


def _check(model, encoded: Sequence) -> None:
    check_array_type("model", model, SentimentLSTM, "a SentimentLSTM")
    if model.config.pooling != "attention":
        raise ValueError(f"model must pool by attention; got pooling={model.config.pooling!r}")
    if model.training:
        raise ValueError("model must be in eval mode (model.eval()): dropout would make every measurement noisy")
    if isinstance(encoded, (str, np.ndarray)) or not isinstance(encoded, Sequence) or not encoded:
        raise TypeError(f"encoded must be a non-empty list of word-id arrays (n_i,); got {type(encoded).__name__}")


def _outputs(model: SentimentLSTM, encoded: Sequence):
    """The LSTM outputs ``(B, T, D)``, final states ``(B, D)``, lengths ``(B,)`` and mask ``(B, T)``, no gradient."""
    ids, lengths = pad_batch(list(encoded))
    with torch.no_grad():
        outputs, final = model.encode(model.embed_ids(ids), lengths)
    return outputs, final, lengths, lengths_to_mask(lengths, T=outputs.shape[1], batch_first=True)


def _unpad(values: torch.Tensor, lengths: torch.Tensor) -> list[np.ndarray]:
    return [values[b, :n].detach().double().numpy() for b, n in enumerate(lengths.tolist())]


def _p(model: SentimentLSTM, outputs, final, lengths, weights=None) -> torch.Tensor:
    pooled, used = model.pool(outputs, final, lengths, weights)
    return torch.softmax(model.classify(pooled), dim=-1)[:, 1], used


def attention_of(model: SentimentLSTM, encoded: Sequence) -> tuple[list[np.ndarray], np.ndarray]:
    """``(weights, p)``: each sentence's attention weights ``(n_i,)`` (summing to 1) and ``p (N,)``."""
    _check(model, encoded)
    outputs, final, lengths, _ = _outputs(model, encoded)
    with torch.no_grad():
        p, weights = _p(model, outputs, final, lengths)
    return _unpad(weights, lengths), p.double().numpy()


def output_with_weights(model: SentimentLSTM, encoded: Sequence, weights: Sequence[np.ndarray]) -> np.ndarray:
    """``p (N,)`` when each sentence's LSTM outputs are pooled with ``weights[i] (n_i,)`` instead of attention."""
    _check(model, encoded)
    outputs, final, lengths, _ = _outputs(model, encoded)
    if len(weights) != len(encoded) or any(np.shape(w) != (n,) for w, n in zip(weights, lengths.tolist())):
        raise ValueError("weights must hold one array (n_i,) per sentence, as long as the sentence")
    padded = torch.zeros(outputs.shape[:2])
    for b, w in enumerate(weights):
        padded[b, :len(w)] = torch.as_tensor(np.asarray(w), dtype=padded.dtype)
    with torch.no_grad():
        return _p(model, outputs, final, lengths, padded)[0].double().numpy()


def gradient_importance(model: SentimentLSTM, encoded: Sequence) -> list[np.ndarray]:
    """``‖∂p/∂e_t‖₂`` for every word t of every sentence: how fast ``p`` moves as word t's embedding moves.

    One backward pass for the whole batch: the sentences do not interact, so
    the gradient of ``Σ_b p_b`` with respect to sentence b's embeddings is ``∂p_b/∂e``.
    """
    _check(model, encoded)
    ids, lengths = pad_batch(list(encoded))
    embedded = model.embed_ids(ids).detach().requires_grad_(True)  # (T, B, E)
    p = torch.softmax(model(None, lengths, embedded=embedded), dim=-1)[:, 1]
    (gradient,) = torch.autograd.grad(p.sum(), embedded)
    return _unpad(gradient.norm(dim=-1).t(), lengths)


def leave_one_out_importance(model: SentimentLSTM, encoded: Sequence, *, batch_size: int = 512) -> list[np.ndarray]:
    """``|p(x) - p(x with word t removed)|`` for every word t (a one-word sentence: its word scores 0)."""
    _check(model, encoded)
    batch_size = check_positive_int("batch_size", batch_size)
    variants = []  # each sentence, then (if it has 2+ words) the sentence without word 0, 1, ...
    for sentence in encoded:
        sentence = np.asarray(sentence)
        variants.append(sentence)
        if sentence.size > 1:
            variants.extend(np.delete(sentence, t) for t in range(sentence.size))
    p = np.concatenate([attention_of(model, variants[i:i + batch_size])[1]
                        for i in range(0, len(variants), batch_size)])
    result, at = [], 0
    for sentence in encoded:
        n = len(sentence)
        result.append(np.abs(p[at] - p[at + 1:at + 1 + n]) if n > 1 else np.zeros(1))
        at += 1 + (n if n > 1 else 0)
    return result


def kendall_taus(first: Sequence[np.ndarray], second: Sequence[np.ndarray], *, min_words: int = 2) -> np.ndarray:
    """Kendall's τ between ``first[i]`` and ``second[i]`` for each sentence of at least ``min_words`` words.

    τ is +1 when the two put the words in the same order, -1 when in reverse,
    about 0 when the orders are unrelated (ties handled as in ``scipy.stats.kendalltau``,
    variant b). Returns the τs ``(M,)`` of the M sentences long enough; a
    sentence where either importance is constant has no τ and is left out.
    """
    if len(first) != len(second):
        raise ValueError(f"first and second must hold the same number of sentences; got {len(first)} "
                         f"and {len(second)}")
    min_words = check_positive_int("min_words", min_words)
    taus = []
    for k, (a, b) in enumerate(zip(first, second)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"first[{k}] and second[{k}] must have the same shape; got {np.shape(a)} and "
                             f"{np.shape(b)}")
        if len(a) >= min_words and np.ptp(a) > 0 and np.ptp(b) > 0:
            taus.append(kendalltau(a, b).statistic)
    return np.array(taus)


def jensen_shannon(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (natural log, from 0 to ln 2) between rows of ``p`` and ``q`` ``(B, T)``."""
    m = (p + q) / 2

    def kl(a, b):
        return torch.where(a > 0, a * (torch.log(a.clamp_min(1e-30)) - torch.log(b.clamp_min(1e-30))),
                           torch.zeros_like(a)).sum(-1)

    return (kl(p, m) + kl(q, m)) / 2


def permuted_attention_change(model: SentimentLSTM, encoded: Sequence, *, permutations: int = 100,
                              rng=None) -> np.ndarray:
    """The median over ``permutations`` random shuffles of each sentence's weights of ``|Δp|``, ``(N,)``.

    A shuffle moves each weight to another word of the same sentence (the
    padding is left alone), so the weights keep their values but lose their places.
    """
    _check(model, encoded)
    permutations = check_positive_int("permutations", permutations)
    rng = check_rng("rng", rng)
    outputs, final, lengths, _ = _outputs(model, encoded)
    with torch.no_grad():
        p, weights = _p(model, outputs, final, lengths)
        changes = np.empty((permutations, len(encoded)))
        for k in range(permutations):
            shuffled = torch.zeros_like(weights)
            for b, n in enumerate(lengths.tolist()):
                shuffled[b, :n] = weights[b, torch.from_numpy(rng.permutation(n))]
            changes[k] = (_p(model, outputs, final, lengths, shuffled)[0] - p).abs().double().numpy()
    return np.median(changes, axis=0)


def adversarial_attention(model: SentimentLSTM, encoded: Sequence, *, epsilon: float = 0.01, steps: int = 300,
                          lr: float = 0.05, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Weights as unlike the model's as possible whose output stays within ``epsilon`` of the model's.

    For each sentence, gradient ascent on the Jensen-Shannon divergence
    between new weights ``softmax(z)`` and the model's own, minus a steep
    penalty once ``|Δp|`` passes ``epsilon / 2`` (a margin that keeps the
    steps inside the band); all sentences at once
    (the LSTM outputs are fixed, only the pooling changes). The search starts
    from the model's weights plus noise (drawn from ``seed``) and keeps, per
    sentence, the most divergent weights seen that respect the limit.

    Returns ``(weights, divergence (N,), change (N,))``: the adversarial
    weights ``(n_i,)``, their JSD from the model's, and their ``|Δp|``
    (at most ``epsilon``; if no step respects it, the model's own weights, JSD 0).
    """
    _check(model, encoded)
    epsilon = check_positive_number("epsilon", epsilon)
    steps = check_positive_int("steps", steps)
    lr = check_positive_number("lr", lr)
    outputs, final, lengths, mask = _outputs(model, encoded)
    with torch.no_grad():
        p, own = _p(model, outputs, final, lengths)
    generator = torch.Generator().manual_seed(seed)
    z = (own.clamp_min(1e-12).log() + torch.randn(own.shape, generator=generator)).masked_fill(~mask, -1e9)
    z.requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    best, best_divergence, best_change = own.clone(), torch.zeros(len(encoded)), torch.zeros(len(encoded))
    for _ in range(steps):
        weights = torch.softmax(z.masked_fill(~mask, float("-inf")), dim=-1)
        new_p, _ = _p(model, outputs, final, lengths, weights)
        change = (new_p - p).abs()
        divergence = jensen_shannon(own, weights)
        with torch.no_grad():  # remember the most divergent weights that keep the output within epsilon
            better = (change <= epsilon) & (divergence > best_divergence)
            best[better], best_divergence[better], best_change[better] = weights[better], divergence[better], \
                change[better]
        loss = (-divergence + 100.0 * torch.relu(change - epsilon / 2)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return _unpad(best, lengths), best_divergence.double().numpy(), best_change.double().numpy()
