"""The contract of the Tree-LSTMs in the registry: parity with the reference, no-grad, state_dict, arguments, CUDA.

A Tree-LSTM reads a forest ``(x: (N, D), parent: (N,))``: no time axis, no batch
axis apart from the forest's nodes, no initial state. So the sequence checks of
test_layers.py (packing, padding, ``batch_first``, unbatched input, initial
states, stacking, directions) do not apply. Bad forests (cycles, out-of-range
parents, too many children) have their own messages: test_nn_tree_lstm.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from twins import randomize

from .harness import assert_close, random_forest, rng_for
from .registry import TREES

ENTRIES = pytest.mark.parametrize("entry", TREES, ids=str)
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
TOL = {torch.float64: 1e-10, torch.float32: 1e-4}

FORESTS = {
    "one node": lambda entry: np.array([-1]),
    "chain": lambda entry: np.array([3, 0, 1, -1, 2]),  # 4 <- 2 <- 1 <- 0 <- 3: parents after and before children
    "wide": lambda entry: np.array([-1, 0, 0, 5, 5, 0]) if entry.max_children == 3 else np.array([-1, 0, 0, 0, 5, 0]),
    "roots only": lambda entry: np.full(4, -1),
    "forest": lambda entry: random_forest([7, 1, 12, 3, 20], seed=2, max_children=entry.max_children),
}


def run_tree(module, x, parent, dh, dc, device="cpu", backward=True):
    """h, c and (with ``backward``) the gradients of Σ h ⊙ dh + Σ c ⊙ dc: of x and every parameter."""
    module.zero_grad(set_to_none=True)
    x = x.to(device, copy=True).requires_grad_(True)
    h, c = module(x, parent)
    if backward:
        ((h * dh.to(device)).sum() + (c * dc.to(device)).sum()).backward()
    result = {"h": h, "c": c, "grad_x": x.grad, **{f"grad_{k}": p.grad for k, p in module.named_parameters()}}
    return {k: v.detach() for k, v in result.items() if v is not None}


def reference_tree(entry, module, x, parent, dh, dc):
    params = {k: v.detach().cpu().double().numpy() for k, v in module.state_dict().items()}
    h, c, cache = entry.forward(params, x.double().numpy(), parent)
    dparams, dx = entry.backward(params, cache, dh.double().numpy(), dc.double().numpy())
    result = {"h": h, "c": c, "grad_x": dx, **{f"grad_{k}": v for k, v in dparams.items()}}
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in result.items()}


def build(entry, forest, bias, dtype):
    rng = rng_for(entry.name, forest, bias)
    args = entry.draw(rng)
    module = randomize(entry.module(*args, bias=bias, dtype=dtype), seed=int(rng.integers(1000)))
    parent = FORESTS[forest](entry)
    N, (D, H) = len(parent), args[:2]
    x, dh, dc = (torch.from_numpy(rng.standard_normal(s)).to(dtype) for s in [(N, D), (N, H), (N, H)])
    return module, x, parent, dh, dc


@ENTRIES
@DTYPES
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("forest", list(FORESTS))
def test_parity_with_the_reference(entry, forest, bias, dtype):
    """Every node's h and c, and the gradients of x and every parameter."""
    module, x, parent, dh, dc = build(entry, forest, bias, dtype)
    ours = run_tree(module, x, torch.from_numpy(parent), dh, dc)
    assert ours["h"].dtype == ours["c"].dtype == dtype and ours["h"].shape == (len(parent), module.hidden_size)
    assert_close(ours, reference_tree(entry, module, x, parent, dh, dc), TOL[dtype])


@ENTRIES
def test_the_no_grad_path_gives_the_same_states(entry):
    module, x, parent, dh, dc = build(entry, "forest", True, torch.float64)
    with_grad = run_tree(module, x, parent, dh, dc)
    with torch.no_grad():
        without = run_tree(module, x, parent, dh, dc, backward=False)
    assert set(without) == {"h", "c"} and not without["h"].requires_grad
    assert torch.equal(without["h"], with_grad["h"]) and torch.equal(without["c"], with_grad["c"])


@ENTRIES
def test_state_dict_round_trips(entry):
    args = entry.draw(rng_for(entry.name, "state_dict"))
    ours = randomize(entry.module(*args, dtype=torch.float64), seed=1)
    params = entry.init(args)  # one params dict loads into both
    assert list(ours.state_dict()) == list(params)
    assert all(tuple(v.shape) == params[k].shape for k, v in ours.state_dict().items())
    fresh = entry.module(*args, dtype=torch.float64)
    fresh.load_state_dict(ours.state_dict())
    x, parent = torch.randn(6, args[0], dtype=torch.float64), np.array([-1, 0, 0, 1, 2, -1])
    assert all(torch.equal(a, b) for a, b in zip(fresh(x, parent), ours(x, parent)))
    assert list(entry.module(*args, bias=False).state_dict()) == ["weight_ih", "weight_hh"]


@ENTRIES
def test_arguments_after_the_sizes_are_keyword_only(entry):
    args = entry.draw(rng_for(entry.name, "signature"))
    with pytest.raises(TypeError, match=r"positional argument"):
        entry.module(*args, False)  # bias given by position


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@ENTRIES
@DTYPES
def test_on_cuda_as_on_the_cpu(entry, dtype, no_tf32):
    module, x, parent, dh, dc = build(entry, "forest", True, dtype)
    cpu = run_tree(module, x, parent, dh, dc)
    cuda = run_tree(module.cuda(), x, torch.from_numpy(parent).cuda(), dh, dc, device="cuda")
    assert all(t.device.type == "cuda" for t in cuda.values())
    assert_close(cuda, cpu, 1e-10 if dtype == torch.float64 else 1e-4)


def tree_function(module, parent):
    """``module`` on the forest ``parent`` as a pure function ``f(x, *parameters) -> (h, c)``."""
    names = [name for name, _ in module.named_parameters()]
    return lambda x, *params: torch.func.functional_call(module, dict(zip(names, params)), (x, parent))


@ENTRIES
def test_second_derivatives_pass_gradgradcheck(entry):
    """The level-by-level backward is itself differentiable (float64), w.r.t. x and every parameter."""
    module, x, parent, dh, dc = build(entry, "wide", True, torch.float64)
    point = (x, *(p.detach() for p in module.parameters()))
    assert torch.autograd.gradgradcheck(tree_function(module, parent),
                                        tuple(t.clone().requires_grad_(True) for t in point))


@ENTRIES
def test_torch_func_grad_and_per_sample_gradients(entry):
    """torch.func.grad equals autograd; vmap over several inputs of one forest gives one gradient per input."""
    module, x, parent, dh, dc = build(entry, "forest", True, torch.float64)
    f = tree_function(module, parent)
    point = (x, *(p.detach() for p in module.parameters()))

    def loss(*args):
        h, c = f(*args)
        return (h * dh).sum() + (c * dc).sum()

    ours = torch.func.grad(loss, argnums=tuple(range(len(point))))(*point)
    leaves = tuple(t.clone().requires_grad_(True) for t in point)
    for a, b in zip(ours, torch.autograd.grad(loss(*leaves), leaves), strict=True):
        assert (a - b).abs().max() <= 1e-12
    xs = torch.stack([x, x.flip(0), 2 * x])  # three inputs on the same forest
    per_sample = torch.func.vmap(torch.func.grad(loss, argnums=tuple(range(1, len(point)))),
                                 in_dims=(0, *[None] * (len(point) - 1)))(xs, *point[1:])
    for s in range(3):
        leaves = tuple(t.clone().requires_grad_(True) for t in point[1:])
        for a, b in zip(per_sample, torch.autograd.grad(loss(xs[s], *leaves), leaves), strict=True):
            assert (a[s] - b).abs().max() <= 1e-12


@ENTRIES
def test_vectorized_jacobian_equals_the_row_by_row_one(entry):
    """jacobian(..., vectorize=True) runs the backward under vmap (is_grads_batched): the same Jacobian."""
    module, x, parent, dh, dc = build(entry, "forest", True, torch.float64)
    vectorized = torch.autograd.functional.jacobian(lambda x: module(x, parent), x, vectorize=True)
    row_by_row = torch.autograd.functional.jacobian(lambda x: module(x, parent), x)
    for a, b in zip(vectorized, row_by_row, strict=True):
        assert (a - b).abs().max() <= 1e-12
