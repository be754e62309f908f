"""The linear-chain CRF, twice: lstmlib.nn.CRF against pytorch-crf and the NumPy reference, by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torchcrf  # pytorch-crf 0.7.2: a test-only peer, like torch.nn.LSTM

from lstmlib.nn import CRF
from lstmlib.reference import (
    crf_backward,
    crf_forward,
    crf_marginals,
    crf_viterbi,
    init_crf_params,
    max_relative_error,
    numerical_gradient,
)

T, B, K = 6, 4, 5
LENGTHS = [6, 3, 1, 5]


def prefix_mask(lengths, T=T):
    """``(T, B)`` bool: the first ``lengths[b]`` steps of column b are real."""
    return np.arange(T)[:, None] < np.asarray(lengths)[None, :]


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(T, B, K))
    tags = rng.integers(0, K, size=(T, B))
    return emissions, tags, prefix_mask(LENGTHS)


def score_of(params, emissions, path):
    """``s(y)`` of one sequence ``emissions (n, K)``, written out from the definition."""
    total = params["start_transitions"][path[0]] + params["end_transitions"][path[-1]]
    total += sum(emissions[t, k] for t, k in enumerate(path))
    total += sum(params["transitions"][i, j] for i, j in zip(path[:-1], path[1:]))
    return total


def twins(seed=0, batch_first=False):
    """Our CRF and pytorch-crf's with the same float64 parameters."""
    torch.manual_seed(seed)
    ours = CRF(K, batch_first=batch_first).double()
    theirs = torchcrf.CRF(K, batch_first=batch_first).double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def test_parameters_have_pytorch_crf_names_shapes_and_load_both_ways():
    ours, theirs = CRF(K), torchcrf.CRF(K)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    for p in ours.parameters():
        assert p.abs().max() <= 0.1


def test_log_partition_equals_brute_force_enumeration(problem):
    emissions, tags, mask = problem
    params = init_crf_params(K, rng=1)
    log_likelihood, cache = crf_forward(params, emissions, tags, mask)
    for b, n in [(1, 3), (2, 1)]:  # the short columns, then the longest (5^6 paths) below
        scores = [score_of(params, emissions[:n, b], path) for path in itertools.product(range(K), repeat=n)]
        log_z = np.log(np.sum(np.exp(scores)))
        assert abs(cache["log_z"][b] - log_z) < 1e-10
        assert abs(log_likelihood[b] - (score_of(params, emissions[:n, b], tags[:n, b]) - log_z)) < 1e-10
    n = 6
    scores = [score_of(params, emissions[:, 0], path) for path in itertools.product(range(K), repeat=n)]
    assert abs(cache["log_z"][0] - np.log(np.sum(np.exp(scores)))) < 1e-10


def test_marginals_equal_brute_force_and_sum_to_one(problem):
    emissions, tags, mask = problem
    params = init_crf_params(K, rng=2)
    _, cache = crf_forward(params, emissions, tags, mask)
    unary, pairwise = crf_marginals(params, cache)
    n, b = 3, 1
    paths = list(itertools.product(range(K), repeat=n))
    weights = np.exp([score_of(params, emissions[:n, b], p) for p in paths])
    weights /= weights.sum()
    expected = np.zeros((n, K))
    expected_pairs = np.zeros((K, K))
    for w, path in zip(weights, paths):
        expected[np.arange(n), path] += w
        expected_pairs[path[0], path[1]] += w
    assert np.allclose(unary[:n, b], expected, atol=1e-12)
    assert np.allclose(pairwise[1, b], expected_pairs, atol=1e-12)
    assert np.allclose(unary.sum(-1), mask)  # each real step's marginals sum to one; padded steps are zero


def test_viterbi_equals_brute_force(problem):
    emissions, _, mask = problem
    params = init_crf_params(K, rng=3)
    params["transitions"] *= 20  # strong transitions: the best path is not the per-step argmax
    paths = crf_viterbi(params, emissions, mask)
    assert [len(p) for p in paths] == LENGTHS
    assert all(isinstance(k, int) for p in paths for k in p)
    for b, n in enumerate(LENGTHS):
        if n > 5:
            continue
        best = max(itertools.product(range(K), repeat=n), key=lambda p: score_of(params, emissions[:n, b], p))
        assert paths[b] == list(best)


def test_reference_backward_matches_finite_differences(problem):
    emissions, tags, mask = problem
    params = init_crf_params(K, rng=4)
    weights = np.random.default_rng(5).normal(size=B)

    def loss():
        return float(weights @ crf_forward(params, emissions, tags, mask)[0])

    _, cache = crf_forward(params, emissions, tags, mask)
    dparams, demissions = crf_backward(params, cache, weights)
    for name, analytic in dparams.items():
        assert max_relative_error(analytic, numerical_gradient(loss, params[name])) < 1e-6, name
    assert max_relative_error(demissions, numerical_gradient(loss, emissions)) < 1e-6
    assert np.all(demissions[~mask] == 0.0)  # padded steps reach nothing


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "token_mean"])
def test_module_equals_pytorch_crf_log_likelihood_and_gradients(problem, batch_first, reduction):
    emissions, tags, mask = (torch.from_numpy(a) for a in problem)
    if batch_first:
        emissions, tags, mask = emissions.transpose(0, 1), tags.t(), mask.t()
    ours, theirs = twins(seed=6, batch_first=batch_first)
    results = []
    for crf in (ours, theirs):
        e = emissions.clone().requires_grad_()
        value = crf(e, tags, mask=mask, reduction=reduction)
        (value * torch.arange(1.0, value.numel() + 1, dtype=value.dtype).view_as(value)).sum().backward()
        results.append((value.detach(), e.grad, [p.grad for p in crf.parameters()]))
    (v1, g1, p1), (v2, g2, p2) = results
    assert v1.shape == v2.shape == ((B,) if reduction == "none" else ())
    assert torch.allclose(v1, v2, atol=1e-10, rtol=0)
    assert torch.allclose(g1, g2, atol=1e-10, rtol=0)
    for a, b in zip(p1, p2):
        assert torch.allclose(a, b, atol=1e-10, rtol=0)


@pytest.mark.filterwarnings("ignore:where received a uint8:UserWarning")  # inside pytorch-crf
def test_module_equals_pytorch_crf_without_mask_and_in_float32():
    ours, theirs = twins(seed=7)
    ours, theirs = ours.float(), theirs.float()
    emissions = torch.randn(T, B, K, generator=torch.Generator().manual_seed(8))
    tags = torch.randint(0, K, (T, B), generator=torch.Generator().manual_seed(9))
    assert torch.allclose(ours(emissions, tags), theirs(emissions, tags), atol=1e-5)
    assert ours.decode(emissions) == theirs.decode(emissions)


@pytest.mark.parametrize("batch_first", [False, True])
def test_decode_equals_pytorch_crf_and_the_reference(batch_first):
    rng = np.random.default_rng(10)
    ours, theirs = twins(seed=11, batch_first=batch_first)
    with torch.no_grad():
        ours.transitions.mul_(30)  # make the transitions matter
        theirs.load_state_dict(ours.state_dict())
    params = {k: v.numpy() for k, v in ours.state_dict().items()}
    for trial in range(5):
        lengths = rng.integers(1, 9, size=7)
        lengths[0] = 8
        mask = prefix_mask(lengths, T=8)
        emissions = rng.normal(size=(8, 7, K))
        e, m = torch.from_numpy(emissions), torch.from_numpy(mask)
        if batch_first:
            e, m = e.transpose(0, 1), m.t()
        decoded = ours.decode(e, mask=m)
        assert decoded == theirs.decode(e, mask=m)
        assert decoded == crf_viterbi(params, emissions, mask)
        assert [len(p) for p in decoded] == lengths.tolist()


def test_module_equals_reference_forward_and_backward(problem):
    emissions, tags, mask = problem
    crf = CRF(K).double()
    params = {k: v.detach().numpy().copy() for k, v in crf.state_dict().items()}
    e = torch.tensor(emissions, requires_grad=True)
    log_likelihood = crf(e, torch.from_numpy(tags), torch.from_numpy(mask), reduction="none")
    reference, cache = crf_forward(params, emissions, tags, mask)
    assert np.allclose(log_likelihood.detach().numpy(), reference, atol=1e-12, rtol=0)
    upstream = np.random.default_rng(12).normal(size=B)
    (log_likelihood * torch.from_numpy(upstream)).sum().backward()
    dparams, demissions = crf_backward(params, cache, upstream)
    assert np.allclose(e.grad.numpy(), demissions, atol=1e-12)
    for name, parameter in crf.named_parameters():
        assert np.allclose(parameter.grad.numpy(), dparams[name], atol=1e-12), name


def test_probabilities_of_all_sequences_sum_to_one():
    crf = CRF(3).double()
    emissions = torch.randn(4, 1, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    paths = torch.tensor(list(itertools.product(range(3), repeat=4))).T  # (4, 81)
    log_p = crf(emissions.expand(4, paths.shape[1], 3), paths, reduction="none")
    assert abs(log_p.exp().sum().item() - 1.0) < 1e-12


def test_training_learns_a_forbidden_transition():
    """Tags 0 (O), 1 (B), 2 (I): I never follows O in the data, so the learnt score of O -> I becomes the lowest."""
    torch.manual_seed(14)
    crf = CRF(3)
    rng = np.random.default_rng(15)
    sequences = []
    for _ in range(64):
        seq, t = [], 0
        while t < 8:
            if rng.random() < 0.3 and t < 7:
                n = min(int(rng.integers(1, 3)) + 1, 8 - t)
                seq += [1] + [2] * (n - 1)
                t += n
            else:
                seq.append(0)
                t += 1
        sequences.append(seq)
    tags = torch.tensor(sequences).T
    optimizer = torch.optim.Adam(crf.parameters(), lr=0.1)
    for _ in range(100):
        optimizer.zero_grad()
        (-crf(torch.zeros(8, 64, 3), tags, reduction="mean")).backward()
        optimizer.step()
    assert crf.transitions[0, 2] < crf.transitions[0, 0] - 2
    assert crf.start_transitions[2] < crf.start_transitions[0] - 2


@pytest.mark.parametrize("call, match", [
    (lambda c: CRF(0), "num_tags must be"),
    (lambda c: c(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long)), r"emissions must have shape \(T, B, K\)"),
    (lambda c: c(torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)), "K = num_tags = 5"),
    (lambda c: c(torch.zeros(0, 3, 5), torch.zeros(0, 3, dtype=torch.long)), "at least one step"),
    (lambda c: c(torch.zeros(2, 3, 5, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)), "floating-point"),
    (lambda c: c(torch.full((2, 3, 5), float("nan")), torch.zeros(2, 3, dtype=torch.long)), "must be finite"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(2, 3)), "tags must be an int64 tensor"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(3, 2, dtype=torch.long)), "tags must have the emissions'"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.full((2, 3), 5)), r"tags must lie in \[0, num_tags = 5\)"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(2, 3, dtype=torch.long), mask=torch.zeros(2, 3)),
     "mask must be a bool tensor"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(2, 3, dtype=torch.long), mask=torch.ones(3, 2, dtype=torch.bool)),
     "mask must have the emissions'"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(2, 3, dtype=torch.long),
                 mask=torch.tensor([[True, False, True], [True, True, True]])), "first step must be all True"),
    (lambda c: c(torch.zeros(3, 1, 5), torch.zeros(3, 1, dtype=torch.long),
                 mask=torch.tensor([[True], [False], [True]])), "prefix"),
    (lambda c: c(torch.zeros(2, 3, 5), torch.zeros(2, 3, dtype=torch.long), reduction="max"), "reduction must be"),
    (lambda c: c.decode(torch.zeros(2, 3, 4)), "K = num_tags = 5"),
])
def test_module_rejects_bad_input_naming_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(CRF(5))


def test_reference_rejects_bad_input_naming_the_argument():
    params = init_crf_params(3, rng=0)
    e, tags = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="params must hold"):
        crf_forward({**params, "transitions": np.zeros((3, 2))}, e, tags)
    with pytest.raises(TypeError, match="emissions must be a NumPy array"):
        crf_forward(params, torch.zeros(2, 1, 3), tags)
    with pytest.raises(ValueError, match=r"emissions must have shape \(T >= 1, B >= 1, K = 3\)"):
        crf_forward(params, np.zeros((2, 1, 4)), tags)
    with pytest.raises(ValueError, match=r"tags must lie in \[0, K = 3\)"):
        crf_forward(params, e, tags + 3)
    with pytest.raises(ValueError, match="mask must be a bool array"):
        crf_viterbi(params, e, np.ones((2, 1)))
    with pytest.raises(ValueError, match="prefix"):
        crf_viterbi(params, np.zeros((3, 1, 3)), np.array([[True], [False], [True]]))
    _, cache = crf_forward(params, e, tags)
    with pytest.raises(ValueError, match=r"dlog_likelihood must have shape \(B,\)"):
        crf_backward(params, cache, np.ones(2))
