"""A real client: a word-level language model in the style of PyTorch's word language model example.

Our own code, written as a user of ``torch.nn`` would write it (embedding ->
stacked LSTM or GRU -> linear decoder, dropout, SGD with gradient clipping,
truncated backpropagation through time with the state carried over), trained
once with ``torch.nn``'s recurrent layer and once with ``lstmlib.nn``'s from the
same seed on Shakespeare's *Macbeth*. What a drop-in owes such a client:

* the same seed gives the same weights and dropout draws, so the first loss is
  bitwise equal;
* later losses agree, within ``EARLY_TOL`` for the first ``EARLY_STEPS`` steps and
  ``LOSS_TOL`` after: the two layers round differently in the last bits of float32
  (our CPU kernels order some sums differently and, with the fast paths on,
  compute tanh through the sigmoid), and training at the example's learning rate
  amplifies those differences at every step;
* text sampled from the same weights with the same random draws is identical.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
from torch import nn

import lstmlib.nn as lnn
from lstmlib.data import shakespeare

STEPS, BATCH, BPTT = 30, 8, 20
EMBED, HIDDEN, LAYERS, DROPOUT = 32, 32, 2, 0.2
LR, CLIP = 20.0, 0.25
VOCAB = 2000  # the most frequent words; the rest read as <unk>
# Observed in these runs (fast paths on and off): over the first 10 steps the losses differ by at most 4e-5
# (rounding); by step 30 the LSTM's by 5e-5 and the GRU's by up to 1e-2, the GRU's gap growing from step 19.
# A wrong gradient moves the loss by tenths within a few steps at this learning rate; the loss falls by about 2.
EARLY_STEPS, EARLY_TOL, LOSS_TOL = 10, 1e-4, 5e-2


def word_ids() -> tuple[np.ndarray, list[str]]:
    """Macbeth as word ids (the most frequent ``VOCAB - 1`` words and ``<unk>``; one ``<eos>`` per line)."""
    words = [w for line in shakespeare.load_play("macbeth").splitlines() for w in line.split() + ["<eos>"]]
    vocab = ["<unk>"] + [w for w, _ in collections.Counter(words).most_common(VOCAB - 1)]
    index = {w: k for k, w in enumerate(vocab)}
    return np.array([index.get(w, 0) for w in words], dtype=np.int64), vocab


class WordLM(nn.Module):
    """Embedding -> ``rnn_class(EMBED, HIDDEN, LAYERS)`` -> linear decoder, with dropout, as the example."""

    def __init__(self, rnn_class: type[nn.Module], vocab_size: int) -> None:
        super().__init__()
        self.drop = nn.Dropout(DROPOUT)
        self.encoder = nn.Embedding(vocab_size, EMBED)
        self.rnn = rnn_class(EMBED, HIDDEN, LAYERS, dropout=DROPOUT)
        self.decoder = nn.Linear(HIDDEN, vocab_size)

    def forward(self, tokens: torch.Tensor, hidden=None):
        """``tokens: (T, B)`` -> logits ``(T, B, V)`` and the final state."""
        output, hidden = self.rnn(self.drop(self.encoder(tokens)), hidden)
        return self.decoder(self.drop(output)), hidden


def detach(hidden):
    return tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()


def train(rnn_class, ids: np.ndarray, vocab_size: int) -> tuple[list[float], WordLM]:
    """``STEPS`` steps of truncated BPTT from seed 0; the losses and the model."""
    torch.manual_seed(0)
    model = WordLM(rnn_class, vocab_size)
    batches = shakespeare.consecutive_windows(ids, BATCH, BPTT, rng=0)
    hidden, losses = None, []
    for _ in range(STEPS):
        x, y = (torch.from_numpy(a) for a in next(batches))
        model.zero_grad()
        logits, hidden = model(x, hidden)
        hidden = detach(hidden)  # truncated backpropagation through time, the state carried over
        loss = nn.functional.cross_entropy(logits.view(-1, vocab_size), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-LR)
        losses.append(loss.item())
    return losses, model.eval()


def generate(model: WordLM, prompt: list[int], n: int, seed: int) -> list[int]:
    """``n`` words after ``prompt``, each sampled from the model's next-word distribution (draws seeded by ``seed``)."""
    draws = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        logits, hidden = model(torch.tensor(prompt)[:, None])
        out = []
        for _ in range(n):
            out.append(int(torch.multinomial(logits[-1, 0].softmax(0), 1, generator=draws)))
            logits, hidden = model(torch.tensor([[out[-1]]]), hidden)
    return out


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_the_word_language_model_trains_the_same_with_lstmlib(name):
    ids, vocab = word_ids()
    torch_losses, torch_model = train(getattr(nn, name), ids, len(vocab))
    our_losses, our_model = train(getattr(lnn, name), ids, len(vocab))
    assert our_losses[0] == torch_losses[0]  # same weights, same dropout draws, same arithmetic: bitwise
    gaps = np.abs(np.subtract(our_losses, torch_losses))
    assert gaps[:EARLY_STEPS].max() < EARLY_TOL, f"loss gaps of the first steps: {gaps[:EARLY_STEPS]}"
    assert gaps.max() < LOSS_TOL, f"largest loss gap {gaps.max():.2e} at step {gaps.argmax()}"
    assert our_losses[-1] < our_losses[0] - 0.5  # it learns

    # generation from shared weights: torch's trained weights loaded into our model
    our_model.load_state_dict(torch_model.state_dict())
    prompt = [vocab.index(w) for w in ("MACBETH:", "<eos>")]
    ours, theirs = generate(our_model, prompt, 100, seed=1), generate(torch_model, prompt, 100, seed=1)
    assert ours == theirs
    assert len(set(theirs)) > 10  # real text, not one word repeated
