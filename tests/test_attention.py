"""Attention, twice: lstmlib.nn's modules against the NumPy reference, the formulas and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmlib.nn import AdditiveAttention, MultiplicativeAttention
from lstmlib.reference import (
    additive_attention_backward,
    additive_attention_forward,
    init_additive_attention_params,
    max_relative_error,
    numerical_gradient,
)

B, S, HQ, HK, A = 3, 5, 4, 6, 7


def ragged_mask(lengths, S=S):
    """``(B, S)`` bool: the first ``lengths[b]`` positions of row b allowed."""
    return np.arange(S)[None, :] < np.asarray(lengths)[:, None]


@pytest.fixture
def inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(B, HQ)), rng.normal(size=(B, S, HK)), ragged_mask([5, 2, 1])


def test_reference_weights_are_a_masked_softmax_and_the_context_their_sum_of_keys(inputs):
    query, keys, mask = inputs
    params = init_additive_attention_params(HQ, HK, A, rng=1)
    context, weights, _ = additive_attention_forward(params, query, keys, mask)
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert np.all(weights[~mask] == 0.0) and np.all(weights[mask] > 0)
    assert weights[2, 0] == 1.0  # one allowed position takes all the weight
    # the score, written out for one row and position, straight from the formula
    b, s = 0, 3
    score = lambda k: params["score_vector"] @ np.tanh(params["query_weight"] @ query[b] + params["key_weight"] @ k)  # noqa: E731
    scores = np.array([score(keys[b, r]) for r in range(S)])
    assert np.isclose(weights[b, s], np.exp(scores[s]) / np.exp(scores).sum())
    assert np.allclose(context, np.einsum("bs,bsh->bh", weights, keys))


def test_reference_backward_matches_finite_differences(inputs):
    query, keys, mask = inputs
    params = init_additive_attention_params(HQ, HK, A, rng=2)
    rng = np.random.default_rng(3)
    dcontext, dweights = rng.normal(size=(B, HK)), rng.normal(size=(B, S))

    def loss():
        context, weights, _ = additive_attention_forward(params, query, keys, mask)
        return float((context * dcontext).sum() + (weights * dweights).sum())

    _, _, cache = additive_attention_forward(params, query, keys, mask)
    dparams, dquery, dkeys = additive_attention_backward(params, cache, dcontext, dweights)
    for name, analytic in dparams.items():
        assert max_relative_error(analytic, numerical_gradient(loss, params[name])) < 1e-7, name
    assert max_relative_error(dquery, numerical_gradient(loss, query)) < 1e-7
    assert max_relative_error(dkeys, numerical_gradient(loss, keys)) < 1e-7
    assert np.all(dkeys[~mask] == 0.0)  # a masked key reaches nothing


def test_module_equals_the_reference_forward_and_backward(inputs):
    query, keys, mask = inputs
    module = AdditiveAttention(HQ, HK, A).double()
    params = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    assert sorted(params) == sorted(["query_weight", "key_weight", "score_vector"])
    q, k = torch.tensor(query, requires_grad=True), torch.tensor(keys, requires_grad=True)
    context, weights = module(q, k, torch.from_numpy(mask))
    ref_context, ref_weights, cache = additive_attention_forward(params, query, keys, mask)
    assert np.allclose(context.detach().numpy(), ref_context, atol=1e-14, rtol=0)
    assert np.allclose(weights.detach().numpy(), ref_weights, atol=1e-14, rtol=0)
    rng = np.random.default_rng(4)
    dcontext, dweights = rng.normal(size=(B, HK)), rng.normal(size=(B, S))
    ((context * torch.from_numpy(dcontext)).sum() + (weights * torch.from_numpy(dweights)).sum()).backward()
    dparams, dquery, dkeys = additive_attention_backward(params, cache, dcontext, dweights)
    for name, parameter in module.named_parameters():
        assert np.allclose(parameter.grad.numpy(), dparams[name], atol=1e-12, rtol=0), name
    assert np.allclose(q.grad.numpy(), dquery, atol=1e-12, rtol=0)
    assert np.allclose(k.grad.numpy(), dkeys, atol=1e-12, rtol=0)


def test_projected_keys_give_the_same_result(inputs):
    query, keys, mask = map(torch.from_numpy, inputs)
    module = AdditiveAttention(HQ, HK, A).double()
    plain = module(query, keys, mask)
    reused = module(query, keys, mask, projected_keys=module.project_keys(keys))
    assert all(torch.equal(a, b) for a, b in zip(plain, reused))
    with pytest.raises(ValueError, match=r"projected_keys must be project_keys\(keys\), shape \(B, S, A\)"):
        module(query, keys, mask, projected_keys=keys)


def test_multiplicative_scores_are_q_w_k_and_the_identity_gives_dot_products(inputs):
    query, keys, mask = map(torch.from_numpy, inputs)
    module = MultiplicativeAttention(HQ, HK).double()
    assert [name for name, _ in module.named_parameters()] == ["weight"]
    context, weights = module(query, keys, mask)
    scores = torch.einsum("bq,qk,bsk->bs", query, module.weight, keys).masked_fill(~mask, float("-inf"))
    assert torch.allclose(weights, torch.softmax(scores, dim=1), atol=1e-14, rtol=0)
    assert torch.all(weights[~mask] == 0) and torch.allclose(weights.sum(1), torch.ones(B, dtype=torch.float64))
    assert torch.allclose(context, torch.einsum("bs,bsh->bh", weights, keys))
    dot = MultiplicativeAttention(HK, HK).double()
    with torch.no_grad():
        dot.weight.copy_(torch.eye(HK))
    q = keys[:, 0]
    _, w = dot(q, keys)
    assert torch.allclose(w, torch.softmax(torch.einsum("bk,bsk->bs", q, keys), dim=1))


@pytest.mark.parametrize("make", [lambda: AdditiveAttention(HQ, HK, A), lambda: MultiplicativeAttention(HQ, HK)])
def test_gradcheck_and_gradgradcheck(make, inputs):
    query, keys, mask = inputs
    module = make().double()
    q, k = torch.tensor(query, requires_grad=True), torch.tensor(keys, requires_grad=True)
    m = torch.from_numpy(mask)
    fn = lambda q, k: module(q, k, m)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (q, k))
    assert torch.autograd.gradgradcheck(fn, (q, k))


@pytest.mark.parametrize("make", [lambda: AdditiveAttention(HQ, HK, A), lambda: MultiplicativeAttention(HQ, HK)])
def test_bad_inputs_are_named(make):
    module = make()
    query, keys = torch.zeros(B, HQ), torch.zeros(B, S, HK)
    with pytest.raises(ValueError, match="mask must allow at least one position in every row; rows \\[1\\]"):
        module(query, keys, torch.from_numpy(ragged_mask([2, 0, 1])))
    with pytest.raises(TypeError, match="mask must be a bool tensor of shape \\(B, S\\).*got int64"):
        module(query, keys, torch.ones(B, S, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"mask must have shape \(B, S\) = \(3, 5\); got \(3, 4\)"):
        module(query, keys, torch.ones(B, S - 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="query"):
        module(torch.zeros(B, HQ + 1), keys)
    with pytest.raises(ValueError, match="keys"):
        module(query, torch.zeros(B, S, HK + 1))
    with pytest.raises(ValueError, match="keys must have the query's batch size B=3"):
        module(query, torch.zeros(B + 1, S, HK))
    with pytest.raises(TypeError, match="keys must be a torch.Tensor"):
        module(query, np.zeros((B, S, HK)))


def test_reference_bad_inputs_are_named(inputs):
    query, keys, _ = inputs
    params = init_additive_attention_params(HQ, HK, A, rng=0)
    with pytest.raises(ValueError, match="mask must allow at least one position in every row"):
        additive_attention_forward(params, query, keys, ragged_mask([1, 0, 2]))
    with pytest.raises(ValueError, match=r"query and keys must have shapes \(B, Hq=4\)"):
        additive_attention_forward(params, keys[:, 0], keys)
    _, _, cache = additive_attention_forward(params, query, keys)
    with pytest.raises(ValueError, match=r"dcontext must have the context's shape \(B, Hk\) = \(3, 6\)"):
        additive_attention_backward(params, cache, np.zeros((B, HQ)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda(inputs):
    query, keys, mask = (torch.from_numpy(a).cuda() for a in inputs)
    for module in (AdditiveAttention(HQ, HK, A).double(), MultiplicativeAttention(HQ, HK).double()):
        cpu = module(query.cpu(), keys.cpu(), mask.cpu())
        gpu = module.cuda()(query, keys, mask)
        assert all(torch.allclose(a, b.cpu()) for a, b in zip(cpu, gpu))
