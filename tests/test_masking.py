"""Masks for padded batches: lengths_to_mask, masked_mean, last_valid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

import lstmlib.nn
from lstmlib.masking import last_valid, lengths_to_mask, masked_mean


# ---- lengths_to_mask ---------------------------------------------------------------------
def test_mask_has_exact_values_time_major_and_batch_first():
    mask = lengths_to_mask(torch.tensor([3, 1, 2]))
    expected = torch.tensor([[True, True, True],
                             [True, False, True],
                             [True, False, False]])  # (T, B)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)
    assert torch.equal(lengths_to_mask([3, 1, 2], batch_first=True), expected.t())


def test_mask_with_longer_T_pads_with_false_and_accepts_numpy():
    mask = lengths_to_mask(np.array([2, 4]), T=6)
    assert mask.shape == (6, 2)
    assert mask.sum(dim=0).tolist() == [2, 4]
    assert not mask[4:].any()


def test_mask_matches_the_lengths_pad_packed_sequence_reports():
    seqs = [torch.randn(n, 3) for n in (5, 2, 4)]
    padded = pad_sequence(seqs)  # (5, 3, 3), zeros after each end
    lengths = torch.tensor([5, 2, 4])
    mask = lengths_to_mask(lengths, T=padded.shape[0])
    assert torch.equal(mask, padded.abs().sum(dim=2) > 0)


@pytest.mark.parametrize(
    "lengths, kwargs, error, match",
    [
        ([2.0, 3.0], {}, TypeError, "lengths must hold ints"),
        (torch.tensor([2.0, 3.0]), {}, TypeError, "integer dtype; got float32"),
        ("3", {}, TypeError, "lengths must be a 1-D tensor, array or list"),
        (torch.tensor([[2, 3]]), {}, ValueError, r"lengths must have 1 dimensions \(B,\)"),
        (torch.tensor([], dtype=torch.long), {}, ValueError, "at least one sequence length"),
        ([2, 0], {}, ValueError, r"lengths must all be >= 1 .*got \[2, 0\]"),
        ([2, 5], {"T": 4}, ValueError, r"T must be at least the longest length \(5\).*T=4"),
        ([2], {"T": 0}, ValueError, "T must be a positive int"),
        ([2], {"batch_first": 1}, TypeError, "batch_first must be a bool"),
    ],
)
def test_mask_rejects_bad_input(lengths, kwargs, error, match):
    with pytest.raises(error, match=match):
        lengths_to_mask(lengths, **kwargs)


# ---- masked_mean -------------------------------------------------------------------------
def test_masked_mean_exact_values():
    values = torch.tensor([[1.0, 10.0],
                           [3.0, 20.0],
                           [99.0, 30.0]])  # (T=3, B=2); 99 is padding
    mask = lengths_to_mask([2, 3])
    assert masked_mean(values, mask).item() == pytest.approx((1 + 3 + 10 + 20 + 30) / 5)
    assert masked_mean(values, mask, dim=0).tolist() == pytest.approx([2.0, 20.0])  # per sequence
    assert masked_mean(values, mask.t().contiguous().t(), dim=-2).tolist() == pytest.approx([2.0, 20.0])


def test_masked_mean_broadcasts_over_trailing_axes():
    values = torch.arange(12.0).view(3, 2, 2)  # (T, B, D)
    mask = torch.tensor([[True, True], [True, False], [False, False]])
    kept = values[mask]  # (4 kept steps, D)
    assert masked_mean(values, mask).item() == pytest.approx(kept.mean().item())
    per_seq = masked_mean(values, mask, dim=0)
    assert per_seq.tolist() == pytest.approx([values[:2, 0].mean().item(), values[:1, 1].mean().item()])


def test_masked_mean_ignores_nan_at_padded_steps_and_gives_them_no_gradient():
    values = torch.tensor([[1.0, 2.0], [float("nan"), 4.0]], requires_grad=True)
    mask = torch.tensor([[True, True], [False, True]])
    mean = masked_mean(values, mask)
    assert mean.item() == pytest.approx(7 / 3)
    mean.backward()
    assert torch.equal(values.grad, torch.tensor([[1 / 3, 1 / 3], [0.0, 1 / 3]]))


def test_padded_batch_masked_loss_equals_losses_of_sequences_run_alone():
    torch.manual_seed(0)
    lstm = lstmlib.nn.LSTM(3, 5).double()
    lengths = [6, 2, 4]
    seqs = [torch.randn(n, 1, 3, dtype=torch.float64) for n in lengths]
    targets = [torch.randn(n, 1, 5, dtype=torch.float64) for n in lengths]
    padded = torch.cat([torch.nn.functional.pad(s, (0, 0, 0, 0, 0, 6 - s.shape[0])) for s in seqs], dim=1)
    target = torch.cat([torch.nn.functional.pad(s, (0, 0, 0, 0, 0, 6 - s.shape[0])) for s in targets], dim=1)
    output, _ = lstm(padded)  # a forward LSTM: padding at the end leaves real steps alone
    per_step = ((output - target) ** 2).mean(dim=2)  # (T, B)
    mask = lengths_to_mask(lengths)
    alone = [((lstm(s)[0] - t) ** 2).mean(dim=2)[:, 0] for s, t in zip(seqs, targets)]  # (n,) each
    assert masked_mean(per_step, mask).item() == pytest.approx(torch.cat(alone).mean().item(), abs=1e-12)
    assert masked_mean(per_step, mask, dim=0).tolist() == pytest.approx([a.mean().item() for a in alone], abs=1e-12)


@pytest.mark.parametrize(
    "values, mask, kwargs, error, match",
    [
        ([1.0], torch.tensor([True]), {}, TypeError, "values must be a torch.Tensor"),
        (torch.ones(2), [True, False], {}, TypeError, "mask must be a bool torch.Tensor"),
        (torch.ones(2, dtype=torch.long), torch.ones(2, dtype=torch.bool), {}, TypeError, "floating-point"),
        (torch.ones(2), torch.ones(2), {}, TypeError, "mask must have dtype bool.*got float32"),
        (torch.ones(3, 2), torch.ones(2, 3, dtype=torch.bool), {}, ValueError,
         r"leading shape of values \(3, 2\).*got mask shape \(2, 3\)"),
        (torch.ones(3), torch.ones(3, 1, dtype=torch.bool), {}, ValueError, "leading shape"),
        (torch.ones(3), torch.zeros(3, dtype=torch.bool), {}, ValueError, "False everywhere"),
        (torch.ones(2, 2), torch.tensor([[True, False], [True, False]]), {"dim": 0}, ValueError,
         r"along dim=0 for every index; none kept at \[1\]"),
        (torch.ones(2, 2), torch.ones(2, 2, dtype=torch.bool), {"dim": 2}, ValueError, r"dim must be an axis"),
        (torch.ones(2, 2), torch.ones(2, 2, dtype=torch.bool), {"dim": 0.0}, TypeError, "dim must be None or an int"),
    ],
)
def test_masked_mean_rejects_bad_input(values, mask, kwargs, error, match):
    with pytest.raises(error, match=match):
        masked_mean(values, mask, **kwargs)


# ---- last_valid --------------------------------------------------------------------------
def test_last_valid_equals_h_n_of_the_packed_batch():
    torch.manual_seed(1)
    lstm = lstmlib.nn.LSTM(3, 4).double()
    lengths = torch.tensor([2, 5, 3])
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    output, _ = lstm(x)
    _, (h_n, _) = lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
    assert torch.allclose(last_valid(output, lengths), h_n[-1], rtol=0, atol=1e-12)
    assert torch.equal(last_valid(output.transpose(0, 1), lengths, batch_first=True), last_valid(output, lengths))


def test_last_valid_exact_indexing():
    output = torch.arange(12.0).view(3, 2, 2)  # (T, B, F)
    assert last_valid(output, [1, 3]).tolist() == [[0.0, 1.0], [10.0, 11.0]]


@pytest.mark.parametrize(
    "output, lengths, error, match",
    [
        (torch.ones(3, 2), [1, 2], ValueError, r"output must have 3 dimensions \(T, B, F\)"),
        (torch.ones(3, 2, 1), [1, 2, 3], ValueError, r"one length per sequence \(B=2\); got 3"),
        (torch.ones(3, 2, 1), [1, 4], ValueError, r"lengths must all be <= T=3"),
        (torch.ones(3, 2, 1), [0, 1], ValueError, "lengths must all be >= 1"),
        (np.ones((3, 2, 1)), [1, 2], TypeError, "output must be a torch.Tensor"),
    ],
)
def test_last_valid_rejects_bad_input(output, lengths, error, match):
    with pytest.raises(error, match=match):
        last_valid(output, lengths)
