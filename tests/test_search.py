"""Greedy and beam search: exact against exhaustive search on a tiny vocabulary, and on a real LSTM decoder."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstmlib.decoding import Hypothesis, beam_search, greedy_search, reorder_state

BOS, EOS, V = 0, 1, 4  # tokens 2 and 3 are the "words"


class TableModel:
    """A decoder whose next-token log-probabilities are a fixed random function of the whole prefix.

    Its state is the prefixes themselves, a (1, K) tensor of prefix codes, so reordering is checked too.
    """

    def __init__(self, seed: int):
        self.seed = seed

    def log_probs(self, prefix: tuple[int, ...]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, *prefix, 99])
        logits = rng.normal(scale=2.0, size=V)
        logits[BOS] = -np.inf  # never produce <bos>
        return logits - np.logaddexp.reduce(logits[np.isfinite(logits)])

    def step(self, tokens, state):
        prefixes = [p + (int(t),) for p, t in zip(state["prefixes"], tokens)]
        codes = torch.arange(len(prefixes)).unsqueeze(0)  # (1, K): follows the hypotheses through reorder
        return torch.tensor(np.stack([self.log_probs(p) for p in prefixes])), {"prefixes": prefixes, "codes": codes}

    def reorder(self, state, index):
        kept = reorder_state(state["codes"], index)
        return {"prefixes": [state["prefixes"][i] for i in kept[0].tolist()], "codes": kept}

    def exhaustive(self, max_length: int, alpha: float) -> tuple[list[int], float]:
        """The best finished output (tokens, log_prob) by brute force over every sequence."""
        best, best_score = None, -np.inf
        for n in range(max_length):  # n words, then <eos>
            for words in itertools.product([2, 3], repeat=n):
                seq, lp = (BOS,), 0.0
                for tok in (*words, EOS):
                    lp += self.log_probs(seq)[tok]
                    seq += (tok,)
                if lp / (n + 1) ** alpha > best_score:
                    best, best_score = (list(words), lp), lp / (n + 1) ** alpha
        return best


@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("seed", range(6))
def test_a_wide_beam_finds_the_exhaustive_best(seed, alpha):
    model = TableModel(seed)
    max_length = 5
    best_tokens, best_lp = model.exhaustive(max_length, alpha)
    state = {"prefixes": [()], "codes": torch.zeros(1, 1, dtype=torch.long)}
    hyps = beam_search(model.step, state, bos_id=BOS, eos_id=EOS, beam_width=2**max_length, max_length=max_length,
                       length_normalization=alpha, reorder=model.reorder)
    assert hyps[0].finished and hyps[0].tokens == best_tokens
    assert hyps[0].log_prob == pytest.approx(best_lp, abs=1e-12)
    assert hyps[0].score == pytest.approx(best_lp / (len(best_tokens) + 1) ** alpha, abs=1e-12)
    scores = [h.score for h in hyps if h.finished]
    assert scores == sorted(scores, reverse=True)


def test_beam_of_one_is_greedy_until_it_keeps_an_earlier_ending():
    """Width 1 follows the argmax, but also keeps an <eos> among the 2 best extensions as a finished output,
    so it returns greedy's output or one with a higher log-probability: never a worse one."""
    kept_earlier = 0
    for seed in range(20):
        model = TableModel(seed)
        start = {"prefixes": [()], "codes": torch.zeros(1, 1, dtype=torch.long)}
        beam = beam_search(model.step, start, bos_id=BOS, eos_id=EOS, beam_width=1, max_length=6,
                           length_normalization=0.0, reorder=model.reorder)[0]
        greedy = greedy_search(model.step, start, 1, bos_id=BOS, eos_id=EOS, max_length=6)[0]
        if beam.tokens == greedy.tokens:
            assert beam.log_prob == pytest.approx(greedy.log_prob, abs=1e-12)
        else:
            kept_earlier += 1
            assert beam.finished and (beam.log_prob > greedy.log_prob or not greedy.finished)
            assert beam.tokens == greedy.tokens[: len(beam.tokens)]  # an ending along greedy's own path
    assert 0 < kept_earlier < 20


class CountingDecoder(torch.nn.Module):
    """An LSTM decoder trained to copy "2 3 2 3 ..." of a length given by its initial state (a real state)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(V, 8)
        self.lstm = torch.nn.LSTM(8, 16)
        self.out = torch.nn.Linear(16, V)

    def step(self, tokens, state):
        h, state = self.lstm(self.embed(tokens).unsqueeze(0), state)
        return torch.log_softmax(self.out(h[0]), dim=-1), state


def test_greedy_batches_and_beam_reorders_a_real_lstm_state():
    model = CountingDecoder()
    h0 = torch.randn(1, 3, 16)
    state = (h0, torch.zeros(1, 3, 16))
    batch = greedy_search(model.step, state, 3, bos_id=BOS, eos_id=EOS, max_length=7)
    for b in range(3):  # the batch's greedy output equals each input's own
        own = greedy_search(model.step, (h0[:, b:b + 1], torch.zeros(1, 1, 16)), 1, bos_id=BOS, eos_id=EOS,
                            max_length=7)[0]
        assert own.tokens == batch[b].tokens and own.log_prob == pytest.approx(batch[b].log_prob, abs=1e-6)
    hyps = beam_search(model.step, (h0[:, :1], torch.zeros(1, 1, 16)), bos_id=BOS, eos_id=EOS, beam_width=3,
                       max_length=7)
    assert 1 <= len(hyps) <= 3 and all(isinstance(h, Hypothesis) for h in hyps)
    for h in hyps:  # each hypothesis's log-prob re-scored token by token with a fresh state
        lp, s = 0.0, (h0[:, :1], torch.zeros(1, 1, 16))
        with torch.no_grad():
            scored = []
            for prev, tok in zip([BOS, *h.tokens], [*h.tokens, EOS] if h.finished else h.tokens):
                log_probs, s = model.step(torch.tensor([prev]), s)
                scored.append(float(log_probs[0, tok]))
        lp = sum(scored)
        assert lp == pytest.approx(h.log_prob, abs=1e-5)


def test_bad_arguments_are_named():
    model = TableModel(0)
    state = {"prefixes": [()], "codes": torch.zeros(1, 1, dtype=torch.long)}
    with pytest.raises(ValueError, match="beam_width must be"):
        beam_search(model.step, state, bos_id=BOS, eos_id=EOS, beam_width=0)
    with pytest.raises(ValueError, match="length_normalization must be a number >= 0"):
        beam_search(model.step, state, bos_id=BOS, eos_id=EOS, length_normalization=-1)
    with pytest.raises(ValueError, match="eos_id must be a token id"):
        beam_search(model.step, state, bos_id=BOS, eos_id=-1)
    with pytest.raises(TypeError, match="step must be a function"):
        greedy_search(None, state, 1, bos_id=BOS, eos_id=EOS)
    with pytest.raises(ValueError, match="step must return \\(log_probs \\(K, V\\), state\\) with K = 2 rows"):
        greedy_search(lambda tokens, s: (torch.zeros(1, V), s), None, 2, bos_id=BOS, eos_id=EOS)
