"""Turning a model's scores into tokens: temperature and sampling (later greedy and beam search).

Every function here works with any *next-token model*: a ``torch.nn.Module``
with an int ``vocab_size`` whose ``forward(x, state=None)`` maps token ids
``x: (T, B)`` to ``(logits (T, B, vocab_size), state)``, such as
:class:`lstmlib.models.CharLSTM`. Draws come from an explicit NumPy
generator, so the same seed gives the same text.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmlib._checks import (
    check_next_token_model,
    check_positive_int,
    check_positive_number,
    check_rng,
    check_token_ids,
)

__all__ = ["sample", "softmax_with_temperature"]


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` in float64 over the last axis.

    A temperature below 1 sharpens the distribution towards its most likely
    entry (0 would be the argmax); above 1 flattens it towards uniform.
    """
    temperature = check_positive_number("temperature", temperature)
    if isinstance(logits, torch.Tensor):
        logits = logits.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@torch.no_grad()
def sample(model, prompt: np.ndarray, n_chars: int, *, temperature: float = 1.0, rng=None) -> np.ndarray:
    """Continue ``prompt`` (ids ``(P,)``, at least one) by ``n_chars`` ids drawn one at a time.

    Each id is drawn from ``softmax(logits / temperature)`` with the NumPy
    generator ``rng`` (None, an int seed or a Generator) and fed back in.
    ``model`` is a next-token model (see the module docstring); it runs in
    eval mode and is put back in the mode it was in.
    Returns the ``(n_chars,)`` new ids (the prompt is not repeated).
    """
    model = check_next_token_model("model", model)
    prompt = check_token_ids("prompt", prompt, vocab_size=model.vocab_size, min_tokens=1)
    n_chars = check_positive_int("n_chars", n_chars)
    temperature = check_positive_number("temperature", temperature)
    gen = check_rng("rng", rng)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, state = model(torch.from_numpy(prompt.copy()).unsqueeze(1).to(device))  # (P, 1, V)
    out = np.empty(n_chars, dtype=np.int64)
    for t in range(n_chars):
        p = softmax_with_temperature(logits[-1, 0], temperature)
        out[t] = gen.choice(model.vocab_size, p=p)
        logits, state = model(torch.tensor([[out[t]]], device=device), state)
    model.train(was_training)
    return out
