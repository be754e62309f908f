"""The contract of every recurrent cell in the registry: one step, batched or not, against its oracle.

Packing, padding, ``batch_first``, stacking and directions are properties of a
layer over a sequence; a cell takes one step, so those checks live in
test_layers.py only. Instead, a cell stepped over a sequence must be its layer.
"""

from __future__ import annotations

import re

import pytest
import torch
from twins import randomize

from .harness import FINAL_NAMES, assert_close, make_problem, reference_run, rng_for
from .registry import CELLS, LAYERS, Entry

TOL_TWIN = {torch.float64: 1e-10, torch.float32: 1e-5}
TOL_REFERENCE = {torch.float64: 1e-10, torch.float32: 1e-4}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
ENTRIES = pytest.mark.parametrize("entry", CELLS, ids=str)
CONSTRUCTORS = pytest.mark.parametrize("entry", [e for e in CELLS if e.constructor_checks], ids=str)

CONFIGS = {  # id: (batched, bias, given_state)
    "batched-hx": (True, True, True),
    "batched": (True, True, False),
    "batched-nobias-hx": (True, False, True),
    "unbatched-hx": (False, True, True),
    "unbatched-nobias": (False, False, False),
}


def run_cell(cell, problem, state_names, *, unbatched=False, device="cpu", backward=True):
    """One step forward (and backward) in the canonical layout of ``harness.run`` with T = 1, one layer."""
    cell.zero_grad(set_to_none=True)
    x = problem.x[0].to(device, copy=True).requires_grad_(True)  # (B, *step)
    leaves = None if problem.states is None else \
        tuple(s[0].to(device, copy=True).requires_grad_(True) for s in problem.states)  # (B, *state) each
    inp, hx = (x[0], None if leaves is None else tuple(s[0] for s in leaves)) if unbatched else (x, leaves)
    if hx is not None and len(hx) == 1:
        hx = hx[0]
    new = cell(inp, hx)
    new = new if isinstance(new, tuple) else (new,)
    new = tuple(s.unsqueeze(0) for s in new) if unbatched else new  # (B, *state) each
    if backward:
        loss = (new[0] * problem.dy[0].to(device)).sum()
        (loss + sum((s * d[0].to(device)).sum() for s, d in zip(new, problem.dfinals, strict=True))).backward()
    result = {"output": new[0][None], **{FINAL_NAMES[n]: s[None] for n, s in zip(state_names, new)}}
    result["grad_x"] = None if x.grad is None else x.grad[None]
    if leaves is not None:
        result.update({f"grad_{n}": None if s.grad is None else s.grad[None] for n, s in zip(state_names, leaves)})
    result.update({f"grad_{name}": p.grad for name, p in cell.named_parameters()})
    return {key: value.detach() for key, value in result.items() if value is not None}


def build(entry: Entry, config: str, dtype: torch.dtype):
    batched, bias, given_state = CONFIGS[config]
    rng = rng_for(entry.name, config)
    shapes = entry.draw(rng)
    B = int(rng.integers(1, 5)) if batched else 1
    kwargs = dict(bias=bias, dtype=dtype, **shapes.options)
    cell = randomize(entry.module(*shapes.args, **kwargs), seed=int(rng.integers(1000)))
    problem = make_problem(rng, entry, shapes, 1, B, 1, 1, given_state, packed=False, sorted_lengths=False,
                           dtype=dtype)
    return cell, problem, shapes, kwargs, dict(unbatched=not batched)


@ENTRIES
@DTYPES
@pytest.mark.parametrize("config", list(CONFIGS))
def test_parity_with_the_oracles(entry, config, dtype):
    """The new states, and the gradients of the input, the states and every parameter."""
    cell, problem, shapes, kwargs, call = build(entry, config, dtype)
    ours = run_cell(cell, problem, entry.state_names, **call)
    assert ours["output"].dtype == dtype
    if entry.torch_twin is not None:
        twin = entry.torch_twin(*shapes.args, **kwargs)
        twin.load_state_dict(cell.state_dict())
        assert_close(ours, run_cell(twin, problem, entry.state_names, **call), TOL_TWIN[dtype])
    if entry.reference is not None:  # the reference layer, one step
        assert_close(ours, reference_run(entry, cell, problem, shapes), TOL_REFERENCE[dtype])


@ENTRIES
@pytest.mark.parametrize("config", ["batched-hx", "unbatched-nobias"])
def test_the_no_grad_path_gives_the_same_states(entry, config):
    cell, problem, shapes, kwargs, call = build(entry, config, torch.float64)
    with_grad = run_cell(cell, problem, entry.state_names, **call)
    with torch.no_grad():
        without = run_cell(cell, problem, entry.state_names, backward=False, **call)
    assert all(not t.requires_grad for t in without.values())
    assert_close(without, {k: with_grad[k] for k in without}, 1e-12)


def layer_of(entry: Entry) -> Entry:
    """The layer entry whose one-layer, one-direction module this cell steps (LSTMCell -> LSTM)."""
    return next(e for e in LAYERS if e.name == entry.name.replace("Cell", ""))


@ENTRIES
def test_the_cell_stepped_over_time_is_its_layer(entry):
    """cell -> layer: stepping the cell gives the layer's outputs, final states and every gradient."""
    rng = rng_for(entry.name, "layer")
    shapes = entry.draw(rng)
    cell = randomize(entry.module(*shapes.args, dtype=torch.float64, **shapes.options), seed=5)
    layer = layer_of(entry).module(*shapes.args, dtype=torch.float64, **shapes.options)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(4, 2, *shapes.step, dtype=torch.float64, requires_grad=True)
    state, ys = None, []
    for x_t in x:
        state = cell(x_t, state)
        ys.append(state[0] if isinstance(state, tuple) else state)
    states = state if isinstance(state, tuple) else (state,)
    y, finals = layer(x)
    finals = finals if isinstance(finals, tuple) else (finals,)
    assert (torch.stack(ys) - y).abs().max() <= 1e-12
    assert all((a - b[0]).abs().max() <= 1e-12 for a, b in zip(states, finals, strict=True))
    ours = torch.autograd.grad(torch.stack(ys).square().sum() + states[-1].sum(), [x, *cell.parameters()])
    theirs = torch.autograd.grad(y.square().sum() + finals[-1][0].sum(), [x, *layer.parameters()])
    for a, b in zip(ours, theirs, strict=True):
        assert (a - b).abs().max() <= 1e-10


@ENTRIES
def test_state_dict_round_trips(entry):
    shapes = entry.draw(rng_for(entry.name, "state_dict"))
    kwargs = dict(dtype=torch.float64, **shapes.options)
    ours = randomize(entry.module(*shapes.args, **kwargs), seed=1)
    fresh = entry.module(*shapes.args, **kwargs)
    fresh.load_state_dict(ours.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), ours.parameters()))
    if entry.reference is not None:  # the layer's params dict, without the _l0 suffix
        params = entry.reference.init(shapes)
        assert [f"{k}_l0" for k in ours.state_dict()] == list(params)
    if entry.torch_twin is not None:
        twin = randomize(entry.torch_twin(*shapes.args, **kwargs), seed=2)
        assert list(twin.state_dict()) == list(ours.state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        ours.load_state_dict(twin.state_dict())
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), twin.parameters()))
        torch.manual_seed(3)
        ours = entry.module(*shapes.args, **kwargs)
        torch.manual_seed(3)
        twin = entry.torch_twin(*shapes.args, **kwargs)
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), twin.parameters()))  # the same init
    no_bias = entry.module(*shapes.args, **(kwargs | {"bias": False}))
    assert list(no_bias.state_dict()) == [k for k in ours.state_dict() if not k.startswith("bias")]
    assert no_bias.bias_ih is None and no_bias.bias_hh is None  # as torch's cells


# ---- the constructor's arguments ----------------------------------------------------------

@CONSTRUCTORS
def test_arguments_after_the_sizes(entry):
    """No torch twin: keyword-only after the sizes. A drop-in twin: torch's positional order."""
    shapes = entry.draw(rng_for(entry.name, "signature"))
    if entry.keyword_only:
        with pytest.raises(TypeError, match=r"positional argument"):
            entry.module(*shapes.args, False, **shapes.options)  # bias given by position
        return
    positional = entry.extra.get("positional", (False,))
    ours, theirs = entry.module(*shapes.args, *positional), entry.torch_twin(*shapes.args, *positional)
    assert ours.bias == theirs.bias is False and list(ours.state_dict()) == list(theirs.state_dict())


CONSTRUCTOR_CASES = [
    (entry, case) for entry in CELLS if entry.constructor_checks for case in [
        ({entry.size_names[0]: 2.5}, TypeError, rf"{entry.size_names[0]} must be a positive int; got float 2.5"),
        ({entry.size_names[1]: -1}, ValueError, rf"{entry.size_names[1]} must be a positive int \(>= 1\); got -1"),
        ({"bias": "no"}, TypeError, r"bias must be a bool \(True or False\); got str"),
    ]
]


@pytest.mark.parametrize("entry, case", CONSTRUCTOR_CASES,
                         ids=[f"{e}-{next(iter(c[0]))}" for e, c in CONSTRUCTOR_CASES])
def test_constructor_rejects_bad_arguments(entry, case):
    change, error, match = case
    shapes = entry.draw(rng_for(entry.name, "constructor"))
    with pytest.raises(error, match=match):
        entry.module(**(dict(zip(entry.size_names, shapes.args)) | shapes.options | change))


# ---- bad input ------------------------------------------------------------------------------

B = 3


def input_cases(entry: Entry, shapes):
    step, state, axes = shapes.step, shapes.state, ", ".join(entry.step_axes)
    batched, single = f"(B, {axes})", f"({axes},)" if len(step) == 1 else f"({axes})"
    state_axes = ", ".join(entry.state_axes)
    wrong_step = (step[0] + 1, *step[1:])
    first = "h_0" if len(entry.state_names) == 1 else "hx[0] (h_0)"
    last = "h_0" if len(entry.state_names) == 1 else "hx[1] (c_0)"
    x = lambda *lead, shape=step, dtype=torch.float32: torch.randn(*lead, *shape, dtype=dtype)  # noqa: E731
    states = lambda *lead: tuple(torch.zeros(*lead, *state) for _ in entry.state_names)  # noqa: E731
    hx = lambda t: t[0] if len(t) == 1 else t  # noqa: E731
    text = lambda shape: re.escape(str(tuple(shape)))  # noqa: E731
    cases = [
        ("rank", lambda m: m(x(2, B)), ValueError,
         rf"input must have {1 + len(step)} or {len(step)} dimensions {re.escape(batched)}, or "
         rf"{re.escape(single)} unbatched; got {len(step) + 2}"),
        ("features", lambda m: m(x(B, shape=wrong_step)), ValueError,
         rf"input must have {entry.step_axes[0]}={step[0]} along axis 1 of {re.escape(batched)}; "
         rf"got shape {text((B, *wrong_step))}"),
        ("dtype", lambda m: m(x(B, dtype=torch.float64)), TypeError,
         r"input must have the dtype of the parameters \(float32\); got float64"),
        ("hx shape", lambda m: m(x(B), hx(states(B - 1))), ValueError,
         rf"{re.escape(first)} must have shape {re.escape(f'(B, {state_axes})')} = {text((B, *state))}; "
         rf"got {text((B - 1, *state))}"),
        ("hx shape unbatched", lambda m: m(x(), hx(states(1))), ValueError,
         rf"{re.escape(first)} must have shape {re.escape(f'({state_axes})' if len(state) > 1 else f'({state_axes},)')}"
         rf" = {text(state)}; got {text((1, *state))}"),
        ("hx dtype", lambda m: m(x(B), hx(states(B)[:-1] + (torch.zeros(B, *state, dtype=torch.float64),))),
         TypeError, rf"{re.escape(last)} must have the dtype of input \(float32\); got float64"),
    ]
    if len(entry.state_names) == 2:
        cases.append(("hx type", lambda m: m(x(B), torch.zeros(B, *state)), TypeError,
                      r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"))
    else:
        cases.append(("hx type", lambda m: m(x(B), states(B)), TypeError, r"hx must be a torch.Tensor h_0; got tuple"))
    return cases


INPUT_CASES = [(entry, name) for entry in CELLS for name, *_ in input_cases(entry, entry.draw(rng_for(entry.name)))]


@pytest.mark.parametrize("entry, case", INPUT_CASES, ids=[f"{e}-{c}" for e, c in INPUT_CASES])
def test_bad_input_is_rejected_with_a_message_naming_it(entry, case):
    shapes = entry.draw(rng_for(entry.name))
    _, call, error, match = next(c for c in input_cases(entry, shapes) if c[0] == case)
    with pytest.raises(error, match=match):
        call(entry.module(*shapes.args, **shapes.options))


# ---- CUDA ------------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@ENTRIES
@DTYPES
def test_on_cuda_as_on_the_cpu(entry, dtype, no_tf32):
    cell, problem, shapes, kwargs, call = build(entry, "batched-hx", dtype)
    cpu = run_cell(cell, problem, entry.state_names, **call)
    cuda = run_cell(cell.cuda(), problem, entry.state_names, device="cuda", **call)
    assert all(t.device.type == "cuda" for t in cuda.values())
    assert_close(cuda, cpu, 1e-10 if dtype == torch.float64 else 1e-4)


@ENTRIES
def test_second_derivatives_pass_gradgradcheck(entry):
    """A cell's backward is itself differentiable (float64), w.r.t. the input, the states and every parameter."""
    cell, problem, shapes, kwargs, _ = build(entry, "batched-hx", torch.float64)
    names = [name for name, _ in cell.named_parameters()]
    n_states = len(entry.state_names)

    def step(x, *rest):
        states, params = rest[:n_states], rest[n_states:]
        hx = states[0] if n_states == 1 else states
        new = torch.func.functional_call(cell, dict(zip(names, params)), (x, hx))
        return new if isinstance(new, tuple) else (new,)

    point = (problem.x[0], *(s[0] for s in problem.states), *(p.detach() for p in cell.parameters()))
    assert torch.autograd.gradgradcheck(step, tuple(t.clone().requires_grad_(True) for t in point))
