"""lstmlib.reference.ctc: the CTC loss and its gradient, checked against torch, finite differences and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lstmlib.reference.ctc import ctc_backward, ctc_betas, ctc_forward, extended_targets

T, N, C = 12, 5, 5
TARGETS = torch.tensor([[1, 2, 2, 3], [1, 1, 1, 1], [4, 0, 0, 0], [2, 3, 4, 1], [3, 0, 0, 0]])
INPUT_LENGTHS = torch.tensor([12, 9, 5, 12, 1])
TARGET_LENGTHS = torch.tensor([4, 4, 1, 4, 0])  # the last sample's target is empty: all blanks


def log_softmax_inputs(seed=0):
    logits = torch.randn(T, N, C, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return logits.log_softmax(-1)


def collapse(alignment, blank=0):
    """Merge repeats, then drop blanks."""
    return tuple(c for t, c in enumerate(alignment) if c != blank and (t == 0 or alignment[t - 1] != c))


def test_extended_targets_put_a_blank_around_every_label():
    assert extended_targets(np.array([4, 0 + 7])).tolist() == [0, 4, 0, 7, 0]
    assert extended_targets(np.array([], dtype=np.int64), blank=2).tolist() == [2]


def test_the_loss_equals_torchs_to_1e10():
    log_probs = log_softmax_inputs()
    expected = F.ctc_loss(log_probs, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    loss, _ = ctc_forward(log_probs, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS)
    assert loss.shape == (N,) and loss.dtype == np.float64
    assert np.allclose(loss, expected.numpy(), rtol=0, atol=1e-10)
    # NumPy inputs give the same, and another blank index is honoured
    loss_np, _ = ctc_forward(log_probs.numpy(), TARGETS.numpy(), INPUT_LENGTHS.numpy(), TARGET_LENGTHS.numpy())
    assert np.array_equal(loss, loss_np)
    shifted = torch.where(TARGETS == 4, torch.tensor(0), TARGETS)  # class 4 becomes the blank, 0 a label
    expected4 = F.ctc_loss(log_probs, shifted, INPUT_LENGTHS, TARGET_LENGTHS, blank=4, reduction="none")
    assert np.allclose(ctc_forward(log_probs, shifted, INPUT_LENGTHS, TARGET_LENGTHS, blank=4)[0], expected4.numpy(),
                       rtol=0, atol=1e-10)


def test_an_infeasible_target_has_infinite_loss_as_in_torch():
    log_probs = log_softmax_inputs()
    # "11" needs a blank between the two 1s: three frames, and two are given
    loss, cache = ctc_forward(log_probs[:2, :1], torch.tensor([[1, 1]]), torch.tensor([2]), torch.tensor([2]))
    expected = F.ctc_loss(log_probs[:2, :1], torch.tensor([[1, 1]]), torch.tensor([2]), torch.tensor([2]),
                          reduction="none")
    assert loss[0] == np.inf and expected.item() == np.inf
    assert np.array_equal(ctc_backward(cache, np.ones(1)), np.zeros((2, 1, C)))


@pytest.mark.parametrize("frames, target", [(3, [1]), (4, [1, 1]), (4, [2, 1]), (5, [1, 2, 1]), (3, [])])
def test_the_loss_sums_every_alignment_that_collapses_to_the_target(frames, target):
    classes = 3
    rng = np.random.default_rng(frames + len(target))
    logits = rng.normal(size=(frames, 1, classes)) * 2
    log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    total = -np.inf
    for alignment in itertools.product(range(classes), repeat=frames):
        if collapse(alignment) == tuple(target):
            total = np.logaddexp(total, sum(log_probs[t, 0, c] for t, c in enumerate(alignment)))
    padded = np.array([target + [1] * (3 - len(target))])
    loss, _ = ctc_forward(log_probs, padded, np.array([frames]), np.array([len(target)]))
    assert loss[0] == pytest.approx(-total, abs=1e-12)


def test_alpha_times_beta_gives_the_same_total_at_every_frame():
    log_probs = log_softmax_inputs(3)
    loss, cache = ctc_forward(log_probs, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS)
    for n, (alpha, beta) in enumerate(zip(cache["alphas"], ctc_betas(cache))):
        labels = extended_targets(TARGETS[n, :TARGET_LENGTHS[n]].numpy())
        through = alpha + beta - log_probs[:INPUT_LENGTHS[n], n].numpy()[:, labels]
        assert np.allclose(np.logaddexp.reduce(through, axis=1), -loss[n], atol=1e-10)


def test_the_gradient_agrees_with_torchs_after_the_log_softmax_and_differs_before_it():
    logits = torch.randn(T, N, C, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    log_probs = logits.log_softmax(-1)
    dloss = torch.tensor([1.0, -0.5, 2.0, 0.3, 1.5], dtype=torch.float64)
    # torch: the gradient it returns for log_probs, and the logits' gradient through the log-softmax
    log_probs_leaf = log_probs.detach().requires_grad_()
    (F.ctc_loss(log_probs_leaf, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none") * dloss).sum().backward()
    (F.ctc_loss(log_probs, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none") * dloss).sum().backward()
    # ours, pushed through the log-softmax by autograd
    _, cache = ctc_forward(log_probs, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS)
    ours = torch.from_numpy(ctc_backward(cache, dloss.numpy()))
    (ours_logits,) = torch.autograd.grad(logits.log_softmax(-1), logits, ours)
    assert torch.allclose(ours_logits, logits.grad, rtol=0, atol=1e-12)
    # before it, torch's differs from the true gradient by exp(log_probs) (dloss-weighted), inside each length
    inside = (torch.arange(T)[:, None] < INPUT_LENGTHS[None, :]).unsqueeze(-1).double()
    expected = ours + dloss[None, :, None] * log_probs.detach().exp() * inside
    assert torch.allclose(log_probs_leaf.grad, expected, rtol=0, atol=1e-12)


def test_the_gradient_matches_central_differences_even_for_unnormalised_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3, 4)) - 1.5  # not log-probabilities of any distribution
    targets, lengths, target_lengths = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]]), np.array([7, 6, 3]), np.array(
        [3, 2, 1])
    dloss = np.array([1.0, 0.7, -1.2])
    _, cache = ctc_forward(x, targets, lengths, target_lengths)
    analytic = ctc_backward(cache, dloss)
    numeric, eps = np.zeros_like(x), 1e-6
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (dloss @ ctc_forward(up, targets, lengths, target_lengths)[0]
                          - dloss @ ctc_forward(down, targets, lengths, target_lengths)[0]) / (2 * eps)
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
    assert (np.abs(analytic - numeric) / scale).max() < 1e-6
    assert (analytic[6:, 1] == 0).all() and (analytic[3:, 2] == 0).all()  # frames past a sample's length


@pytest.mark.parametrize("change, error, match", [
    (dict(log_probs=np.zeros((4, 2))), ValueError, r"log_probs must have 3 dimensions \(T, N, C\); got 2"),
    (dict(log_probs=np.zeros((4, 2, 3), dtype=np.int64)), TypeError, r"log_probs must have a floating-point dtype"),
    (dict(targets=np.ones((2, 2))), TypeError, r"targets must hold integers \(N, S\); got dtype float64"),
    (dict(targets=np.ones((3, 2), dtype=np.int64)), ValueError, r"targets, input_lengths and target_lengths must have"
                                                                r" N=2 rows"),
    (dict(input_lengths=np.array([5, 4])), ValueError, r"input_lengths must lie in \[1, T=4\]; got \[5, 4\]"),
    (dict(target_lengths=np.array([3, 1])), ValueError, r"target_lengths must lie in \[0, S=2\]; got \[3, 1\]"),
    (dict(targets=np.array([[1, 0], [1, 1]])), ValueError, r"targets must hold class indices in \[0, C=3\) other than "
                                                           r"blank=0; sample 0 has \[1, 0\]"),
    (dict(blank=3), ValueError, r"blank must be a class index in \[0, C=3\); got 3"),
    (dict(log_probs=np.full((4, 2, 3), np.nan)), ValueError, r"log_probs must hold log-probabilities \(no NaN"),
])
def test_bad_inputs_are_rejected(change, error, match):
    args = dict(log_probs=np.log(np.full((4, 2, 3), 1 / 3)), targets=np.array([[1, 2], [2, 2]]),
                input_lengths=np.array([4, 4]), target_lengths=np.array([2, 1]), blank=0)
    args.update(change)
    with pytest.raises(error, match=match):
        ctc_forward(**args)


def test_backward_rejects_a_bad_cache_or_dloss():
    _, cache = ctc_forward(np.log(np.full((4, 2, 3), 1 / 3)), np.array([[1, 2], [2, 2]]), np.array([4, 4]),
                           np.array([2, 1]))
    with pytest.raises(ValueError, match=r"dloss must have shape \(N,\) = \(2,\); got \(3,\)"):
        ctc_backward(cache, np.ones(3))
    with pytest.raises(TypeError, match=r"cache must be the dict ctc_forward returns; got tuple"):
        ctc_backward((), np.ones(2))
