"""The contract of every recurrent layer in the registry: parity with its oracle in every layout, and its errors."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from twins import randomize

from .harness import as_function, assert_close, make_problem, randn, reference_run, rng_for, run
from .registry import LAYERS, Entry

# against torch.nn (same float32 arithmetic) and against the float64 NumPy reference
TOL_TWIN = {torch.float64: 1e-10, torch.float32: 1e-5}
TOL_REFERENCE = {torch.float64: 1e-10, torch.float32: 1e-4}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
ENTRIES = pytest.mark.parametrize("entry", LAYERS, ids=str)
# the constructor of each module once (not again for a variant such as RNN with relu)
CONSTRUCTORS = pytest.mark.parametrize("entry", [e for e in LAYERS if e.constructor_checks], ids=str)

# id: (num_layers, bidirectional, batch_first, bias, given_state, input layout, T or None for a random T)
CONFIGS = {
    "L1-padded": (1, False, False, True, False, "padded", None),
    "L2-bi-bf-packed-hx": (2, True, True, True, True, "packed", None),
    "L3-bi-nobias-hx": (3, True, False, False, True, "padded", None),
    "L2-bf-nobias-packed": (2, False, True, False, False, "packed", None),
    "L1-sorted-packed-hx": (1, False, False, True, True, "sorted", None),
    "L2-bi-unbatched-hx": (2, True, False, True, True, "unbatched", None),
    "L1-bf-unbatched": (1, False, True, True, False, "unbatched", None),
    "L2-bi-one-step-hx": (2, True, False, True, True, "padded", 1),
    "L2-bi-full-packed": (2, True, False, True, False, "full", None),  # every sequence full length: no mask
}


def build(entry: Entry, config: str, dtype: torch.dtype, device: str = "cpu"):
    """A randomised module of ``entry`` in ``config``, its problem, and how to call ``run`` on it."""
    num_layers, bidirectional, batch_first, bias, given_state, layout, T = CONFIGS[config]
    rng = rng_for(entry.name, config)
    shapes = entry.draw(rng)
    T = T or int(rng.integers(2, 6))
    B = 1 if layout == "unbatched" else int(rng.integers(2, 5))
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
                  dtype=dtype, **shapes.options)
    module = randomize(entry.module(*shapes.args, **kwargs), seed=int(rng.integers(1000)))
    dirs = 2 if bidirectional else 1
    problem = make_problem(rng, entry, shapes, T, B, num_layers * dirs, dirs, given_state,
                           packed=layout in ("packed", "sorted", "full"), sorted_lengths=layout == "sorted",
                           full_lengths=layout == "full", dtype=dtype)
    call = dict(batch_first=batch_first, unbatched=layout == "unbatched", enforce_sorted=layout == "sorted")
    return module, problem, shapes, kwargs, call


def oracles(entry: Entry, module, problem, shapes, kwargs, call, dtype):
    """(results, tolerance) of every oracle of ``entry`` on ``module``'s weights."""
    found = []
    if entry.torch_twin is not None:
        twin = entry.torch_twin(*shapes.args, **kwargs)
        twin.load_state_dict(module.state_dict())  # ours -> torch (torch -> ours: test_state_dict_round_trips)
        found.append((run(twin, problem, entry.state_names, **call), TOL_TWIN[dtype]))
    if entry.reference is not None:
        found.append((reference_run(entry, module, problem, shapes), TOL_REFERENCE[dtype]))
    return found


@ENTRIES
@DTYPES
@pytest.mark.parametrize("config", list(CONFIGS))
def test_parity_with_the_oracles(entry, config, dtype):
    """Outputs, final states, and the gradients of the input, the initial states and every parameter."""
    module, problem, shapes, kwargs, call = build(entry, config, dtype)
    ours = run(module, problem, entry.state_names, **call)
    assert ours["output"].dtype == dtype
    for theirs, tol in oracles(entry, module, problem, shapes, kwargs, call, dtype):
        assert_close(ours, theirs, tol)


@ENTRIES
@DTYPES
@pytest.mark.parametrize("config", ["L2-bi-bf-packed-hx", "L1-padded", "L2-bi-unbatched-hx"])
def test_the_no_grad_path_gives_the_same_outputs(entry, config, dtype):
    """Without autograd the layers run a loop that saves nothing: a separate code path."""
    module, problem, shapes, kwargs, call = build(entry, config, dtype)
    with_grad = run(module, problem, entry.state_names, **call)
    with torch.no_grad():
        without = run(module, problem, entry.state_names, backward=False, **call)
    assert set(without) == {"output", *(k for k in with_grad if k in ("h_n", "c_n"))}
    assert all(not t.requires_grad for t in without.values())
    assert_close(without, {k: with_grad[k] for k in without}, 1e-12 if dtype == torch.float64 else 1e-6)


@ENTRIES
def test_frozen_parameters_still_give_input_gradients(entry):
    module, problem, shapes, kwargs, call = build(entry, "L2-bi-bf-packed-hx", torch.float64)
    module.requires_grad_(False)
    ours = run(module, problem, entry.state_names, **call)
    assert not any(k.startswith("grad_weight") or k.startswith("grad_bias") for k in ours)
    for theirs, tol in oracles(entry, module, problem, shapes, kwargs, call, torch.float64):
        assert_close(ours, {k: theirs[k] for k in ours}, tol)


@ENTRIES
def test_state_dict_round_trips(entry):
    rng = rng_for(entry.name, "state_dict")
    shapes = entry.draw(rng)
    kwargs = dict(num_layers=2, bidirectional=True, dtype=torch.float64, **shapes.options)
    ours = randomize(entry.module(*shapes.args, **kwargs), seed=1)
    fresh = entry.module(*shapes.args, **kwargs)
    fresh.load_state_dict(ours.state_dict())
    assert list(fresh.state_dict()) == list(ours.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), ours.state_dict().values()))
    problem = make_problem(rng, entry, shapes, 3, 2, 4, 2, True, packed=False, sorted_lengths=False,
                           dtype=torch.float64)
    a, b = run(ours, problem, entry.state_names), run(fresh, problem, entry.state_names)
    assert all(torch.equal(a[k], b[k]) for k in a)
    layer0 = {k: tuple(v.shape) for k, v in ours.state_dict().items() if k.endswith("_l0")}
    if entry.reference is not None:  # one params dict loads into both
        params = entry.reference.init(shapes)
        assert list(layer0) == list(params) and all(layer0[k] == params[k].shape for k in params)
    if entry.torch_twin is not None:
        twin = randomize(entry.torch_twin(*shapes.args, **kwargs), seed=2)
        assert list(twin.state_dict()) == list(ours.state_dict())  # same keys, same order
        ours.load_state_dict(twin.state_dict())  # torch -> ours
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), twin.parameters()))
        torch.manual_seed(3)
        ours = entry.module(*shapes.args, **kwargs)
        torch.manual_seed(3)
        twin = entry.torch_twin(*shapes.args, **kwargs)
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), twin.parameters()))  # the same init
    no_bias = entry.module(*shapes.args, **(kwargs | {"bias": False}))
    assert not any("bias" in k for k in no_bias.state_dict())
    assert len(no_bias.state_dict()) == len(ours.state_dict()) - 8  # two biases per layer-direction


@ENTRIES
def test_dropout_acts_between_layers_in_training_only(entry):
    rng = rng_for(entry.name, "dropout")
    shapes = entry.draw(rng)
    kwargs = dict(num_layers=2, dtype=torch.float64, **shapes.options)
    module = randomize(entry.module(*shapes.args, dropout=0.5, **kwargs), seed=4)
    plain = entry.module(*shapes.args, **kwargs)
    plain.load_state_dict(module.state_dict())
    x = torch.randn(4, 3, *shapes.step, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(module.eval()(x)[0], plain(x)[0])
    torch.manual_seed(0)
    assert (module.train()(x)[0] - plain(x)[0]).abs().max() > 1e-3  # something was dropped
    assert torch.equal(plain.train()(x)[0], plain.eval()(x)[0])  # without dropout, training mode changes nothing


@ENTRIES
def test_inplace_change_of_the_output_is_detected(entry):
    """The kernels save their outputs; editing them in place must not silently corrupt gradients."""
    shapes = entry.draw(rng_for(entry.name, "inplace"))
    output, _ = entry.module(*shapes.args, **shapes.options)(torch.randn(3, 2, *shapes.step, requires_grad=True))
    output.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        output.sum().backward()


# ---- the constructor's arguments ----------------------------------------------------------

@CONSTRUCTORS
def test_arguments_after_the_sizes(entry):
    """No torch twin: keyword-only after the sizes. A drop-in twin: torch's positional order."""
    shapes = entry.draw(rng_for(entry.name, "signature"))
    if entry.keyword_only:
        with pytest.raises(TypeError, match=r"positional argument"):
            entry.module(*shapes.args, 2, **shapes.options)  # num_layers given by position
        return
    positional = entry.extra.get("positional", (2, False, True, 0.25, True))  # num_layers .. bidirectional
    ours, theirs = entry.module(*shapes.args, *positional), entry.torch_twin(*shapes.args, *positional)
    for name in ("num_layers", "bias", "batch_first", "dropout", "bidirectional"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert list(ours.state_dict()) == list(theirs.state_dict())


def constructor_cases(entry: Entry):
    first, second = entry.size_names[0], entry.size_names[1]
    return [
        ({first: 2.5}, TypeError, rf"{first} must be a positive int; got float 2.5"),
        ({first: "4"}, TypeError, rf"{first} must be a positive int; got str"),
        ({second: 0}, ValueError, rf"{second} must be a positive int \(>= 1\); got 0"),
        ({second: True}, TypeError, rf"{second} must be a positive int; got bool"),
        ({"num_layers": 0}, ValueError, r"num_layers must be a positive int"),
        ({"num_layers": 2.0}, TypeError, r"num_layers must be a positive int; got float"),
        ({"dropout": 1.5}, ValueError, r"dropout must be a number in \[0, 1\]; got 1.5"),
        ({"dropout": -0.1}, ValueError, r"dropout must be a number in \[0, 1\]; got -0.1"),
        ({"dropout": "0.2"}, TypeError, r"dropout must be a number in \[0, 1\]; got str"),
        ({"bias": 1}, TypeError, r"bias must be a bool \(True or False\); got int 1"),
        ({"batch_first": "yes"}, TypeError, r"batch_first must be a bool"),
        ({"bidirectional": None}, TypeError, r"bidirectional must be a bool"),
    ]


CONSTRUCTOR_CASES = [(entry, case) for entry in LAYERS if entry.constructor_checks
                     for case in constructor_cases(entry)]


@pytest.mark.parametrize("entry, case", CONSTRUCTOR_CASES,
                         ids=[f"{e}-{next(iter(c[0]))}={c[0][next(iter(c[0]))]!r}" for e, c in CONSTRUCTOR_CASES])
def test_constructor_rejects_bad_arguments(entry, case):
    change, error, match = case
    shapes = entry.draw(rng_for(entry.name, "constructor"))
    kwargs = dict(zip(entry.size_names, shapes.args)) | shapes.options | {"num_layers": 2} | change
    with pytest.raises(error, match=match):
        entry.module(**kwargs)


@CONSTRUCTORS
def test_dropout_with_one_layer_warns_like_torch(entry):
    shapes = entry.draw(rng_for(entry.name, "warn"))
    with pytest.warns(UserWarning, match=r"dropout acts between stacked layers"):
        entry.module(*shapes.args, dropout=0.5, **shapes.options)


# ---- bad input to forward -----------------------------------------------------------------

T, B = 4, 3


def shape_text(shape) -> str:
    return re.escape(str(tuple(shape)))


def input_cases(entry: Entry, shapes):
    """(name, make module kwargs, call(module) -> None, error, match) for every bad input."""
    step, state, axes = shapes.step, shapes.state, ", ".join(entry.step_axes)
    n_batched, n_unbatched = 2 + len(step), 1 + len(step)
    time_major, batch_major, single = f"(T, B, {axes})", f"(B, T, {axes})", f"(T, {axes})"
    feature, size = entry.step_axes[0], step[0]
    wrong_step = (size + 1, *step[1:])
    x = lambda *lead, shape=step, dtype=torch.float32: torch.randn(*lead, *shape, dtype=dtype)  # noqa: E731
    states = lambda *lead: tuple(torch.zeros(*lead, *state) for _ in entry.state_names)  # noqa: E731
    hx = lambda t: t[0] if len(t) == 1 else t  # noqa: E731
    first = "h_0" if len(entry.state_names) == 1 else "hx[0] (h_0)"
    last = "h_0" if len(entry.state_names) == 1 else "hx[1] (c_0)"
    state_axes = ", ".join(entry.state_axes)
    batched_layout = re.escape(f"(num_layers * num_directions, B, {state_axes})")
    cases = [
        ("not a tensor", {}, lambda m: m(x(T, B).tolist()), TypeError,
         r"input must be a torch.Tensor or a PackedSequence; got list"),
        ("rank", {}, lambda m: m(x(T, B, shape=(*step, 1))), ValueError,
         rf"input must have {n_batched} or {n_unbatched} dimensions {re.escape(time_major)}, or "
         rf"{re.escape(single)} unbatched; got {n_batched + 1} dimensions with shape {shape_text((T, B, *step, 1))}"),
        ("rank batch_first", {"batch_first": True}, lambda m: m(x(B, T, shape=(*step, 1))), ValueError,
         rf"input must have {n_batched} or {n_unbatched} dimensions {re.escape(batch_major)}"),
        ("features", {}, lambda m: m(x(T, B, shape=wrong_step)), ValueError,
         rf"input must have {feature}={size} along axis 2 of {re.escape(time_major)}; "
         rf"got shape {shape_text((T, B, *wrong_step))}"),
        ("features unbatched", {}, lambda m: m(x(T, shape=wrong_step)), ValueError,
         rf"input must have {feature}={size} along axis 1 of {re.escape(single)}; "
         rf"got shape {shape_text((T, *wrong_step))}"),
        ("dtype", {}, lambda m: m(x(T, B, dtype=torch.float64)), TypeError,
         r"input must have the dtype of the parameters \(float32\); got float64"),
        ("integer", {}, lambda m: m(x(T, B).long()), TypeError, r"input must have a floating-point dtype; got int64"),
        ("empty", {}, lambda m: m(x(0, B)), ValueError, r"input must hold at least one time step \(T >= 1 on axis 0\)"),
        ("empty batch_first", {"batch_first": True}, lambda m: m(x(B, 0)), ValueError,
         r"input must hold at least one time step \(T >= 1 on axis 1\)"),
        ("empty unbatched", {}, lambda m: m(x(0)), ValueError,
         r"input must hold at least one time step \(T >= 1 on axis 0\)"),
        ("packed features", {}, lambda m: m(pack_padded_sequence(x(T, B, shape=wrong_step), torch.tensor([T, 2, 1]))),
         ValueError, rf"input.data must have {feature}={size} along axis 1 of \(sum of lengths, {axes}\)"),
        ("hx shape batch", {}, lambda m: m(x(T, B), hx(states(2, B + 1))), ValueError,
         rf"{re.escape(first)} must have shape {batched_layout} = {shape_text((2, B, *state))}; "
         rf"got {shape_text((2, B + 1, *state))}"),
        ("hx shape layers", {}, lambda m: m(x(T, B), hx(states(1, B))), ValueError,
         rf"{re.escape(first)} must have shape {batched_layout} = {shape_text((2, B, *state))}; "
         rf"got {shape_text((1, B, *state))}"),
        ("hx shape hidden", {}, lambda m: m(x(T, B), hx(tuple(torch.zeros(2, B, state[0] + 1, *state[1:])
                                                             for _ in entry.state_names))), ValueError,
         rf"{re.escape(first)} must have shape {batched_layout} = {shape_text((2, B, *state))}"),
        ("hx rank", {}, lambda m: m(x(T, B), hx(states(2))), ValueError,
         rf"{re.escape(first)} must have shape {batched_layout} = {shape_text((2, B, *state))}; "
         rf"got {shape_text((2, *state))}"),
        ("hx batched for unbatched input", {}, lambda m: m(x(T), hx(states(2, 1))), ValueError,
         rf"{re.escape(first)} must have shape {re.escape(f'(num_layers * num_directions, {state_axes})')} = "
         rf"{shape_text((2, *state))}; got {shape_text((2, 1, *state))}"),
        ("hx dtype", {}, lambda m: m(x(T, B), hx(states(2, B)[:-1] + (torch.zeros(2, B, *state).double(),))),
         TypeError, rf"{re.escape(last)} must have the dtype of input \(float32\); got float64"),
    ]
    if len(entry.state_names) == 2:
        cases += [
            ("hx type", {}, lambda m: m(x(T, B), torch.zeros(2, B, *state)), TypeError,
             r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got Tensor"),
            ("hx count", {}, lambda m: m(x(T, B), states(2, B) + states(2, B)[:1]), ValueError,
             r"hx must be a tuple \(h_0, c_0\) of 2 tensors; got a tuple of 3 item"),
            ("hx item", {}, lambda m: m(x(T, B), (torch.zeros(2, B, *state), None)), TypeError,
             r"hx\[1\] \(c_0\) must be a torch.Tensor; got NoneType"),
        ]
    else:
        cases.append(("hx type", {}, lambda m: m(x(T, B), states(2, B)), TypeError,
                      r"hx must be a torch.Tensor h_0; got tuple"))
    return cases


INPUT_CASES = [(entry, name) for entry in LAYERS
               for name, *_ in input_cases(entry, entry.draw(rng_for(entry.name, "input")))]


@pytest.mark.parametrize("entry, case", INPUT_CASES, ids=[f"{e}-{c}" for e, c in INPUT_CASES])
def test_bad_input_is_rejected_with_a_message_naming_it(entry, case):
    shapes = entry.draw(rng_for(entry.name, "input"))
    _, kwargs, call, error, match = next(c for c in input_cases(entry, shapes) if c[0] == case)
    module = entry.module(*shapes.args, num_layers=2, **shapes.options, **kwargs)
    with pytest.raises(error, match=match):
        call(module)


# ---- CUDA ------------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@ENTRIES
@DTYPES
@pytest.mark.parametrize("config", ["L2-bi-bf-packed-hx", "L2-bi-unbatched-hx"])
def test_on_cuda_as_on_the_cpu_and_as_the_oracle(entry, config, dtype, no_tf32):
    module, problem, shapes, kwargs, call = build(entry, config, dtype)
    cpu = run(module, problem, entry.state_names, **call)
    module.cuda()
    assert all(p.device.type == "cuda" for p in module.parameters())
    cuda = run(module, problem, entry.state_names, device="cuda", **call)
    assert all(t.device.type == "cuda" for t in cuda.values())
    tol = TOL_TWIN[dtype] if dtype == torch.float64 else 1e-4
    assert_close(cuda, cpu, tol)
    if entry.torch_twin is not None:  # cuDNN's kernels
        twin = entry.torch_twin(*shapes.args, **kwargs, device="cuda")
        twin.load_state_dict(module.state_dict())
        assert_close(cuda, run(twin, problem, entry.state_names, device="cuda", **call), tol)
    with torch.no_grad():
        without = run(module, problem, entry.state_names, device="cuda", backward=False, **call)
    assert_close(without, {k: cuda[k] for k in without}, tol)


# ---- second derivatives and torch.func ---------------------------------------------------------
# A packed (masked) batch with given states: the paths of a layer-direction (stacking and directions compose
# layer-directions with ordinary autograd); small, since gradgradcheck perturbs every entry of everything.
DIFFERENTIATE = "L1-sorted-packed-hx"


def weighted_loss(f, problem):
    """``f``'s outputs as the scalar ``Σ output ⊙ dy + Σ h_n ⊙ dh_n + ...`` (the loss of :func:`run`)."""

    def loss(*args):
        output, *finals = f(*args)
        return (output * problem.dy).sum() + sum((s * d).sum() for s, d in zip(finals, problem.dfinals, strict=True))

    return loss


@ENTRIES
def test_second_derivatives_pass_gradgradcheck(entry):
    """The backward is itself differentiable (float64): with respect to the input, the initial states, every
    parameter and the incoming gradients -- what hvp, hessian and gradient penalties need."""
    module, problem, shapes, kwargs, call = build(entry, DIFFERENTIATE, torch.float64)
    f, point = as_function(module, problem, **call)
    assert torch.autograd.gradgradcheck(f, tuple(t.clone().requires_grad_(True) for t in point))


@pytest.mark.parametrize("entry", [e for e in LAYERS if e.torch_twin is not None], ids=str)
def test_hessian_vector_product_equals_torchs(entry):
    """torch.autograd.functional.hvp through our layer equals it through torch's on the same weights."""
    module, problem, shapes, kwargs, call = build(entry, DIFFERENTIATE, torch.float64)
    twin = entry.torch_twin(*shapes.args, **kwargs)
    twin.load_state_dict(module.state_dict())
    (ours_f, point), (theirs_f, _) = as_function(module, problem, **call), as_function(twin, problem, **call)
    rng = rng_for(entry.name, "hvp")
    v = tuple(randn(rng, t.shape, torch.float64) for t in point)
    ours = torch.autograd.functional.hvp(weighted_loss(ours_f, problem), point, v)
    theirs = torch.autograd.functional.hvp(weighted_loss(theirs_f, problem), point, v)
    assert (ours[0] - theirs[0]).abs() <= 1e-10
    assert max(t.abs().max() for t in theirs[1]) > 1e-3  # a product that is not zero: the check has teeth
    for a, b in zip(ours[1], theirs[1], strict=True):
        assert (a - b).abs().max() <= 1e-10


@ENTRIES
def test_torch_func_grad_equals_autograd(entry):
    """torch.func.grad over functional_call gives the gradients that loss.backward() gives.

    Not on packed input: torch's own pack_padded_sequence fails under torch.func.grad
    ("Cannot access data pointer of Tensor that doesn't have storage", torch 2.13), for torch.nn.LSTM too.
    """
    module, problem, shapes, kwargs, call = build(entry, "L2-bi-unbatched-hx", torch.float64)
    f, point = as_function(module, problem, **call)
    loss = weighted_loss(f, problem)
    ours = torch.func.grad(loss, argnums=tuple(range(len(point))))(*point)
    leaves = tuple(t.clone().requires_grad_(True) for t in point)
    expected = torch.autograd.grad(loss(*leaves), leaves)
    for a, b in zip(ours, expected, strict=True):
        assert (a - b).abs().max() <= 1e-12


@ENTRIES
def test_per_sample_gradients_with_vmap(entry):
    """vmap(grad(...)) over the samples (the per-sample gradients of torch.func's recipe) equals one
    autograd pass per sample; each sample is a batch of one."""
    module, problem, shapes, kwargs, call = build(entry, "L1-padded", torch.float64)
    names = [name for name, _ in module.named_parameters()]

    def loss(params, x, dy):  # x: (T, *step), dy: (T, dirs * H, ...): one sample
        output, _ = torch.func.functional_call(module, params, (x.unsqueeze(1),))
        return (output[:, 0] * dy).sum()

    params = {name: p.detach() for name, p in module.named_parameters()}
    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 1, 1))(params, problem.x, problem.dy)
    for s in range(problem.x.shape[1]):
        expected = torch.autograd.grad(loss(dict(module.named_parameters()), problem.x[:, s], problem.dy[:, s]),
                                       list(module.parameters()))
        for name, b in zip(names, expected, strict=True):
            assert (per_sample[name][s] - b).abs().max() <= 1e-12, name


@pytest.mark.parametrize("entry", [e for e in LAYERS if e.torch_twin is not None], ids=str)
@pytest.mark.filterwarnings("ignore:There is a performance drop")  # torch's vmap fallback, before the error
def test_vmap_of_a_forward_without_gradients_fails_as_torchs(entry):
    """vmap of a bare forward (no grad transform inside) is not supported, by torch.nn's layers either (torch
    2.13: "Batching rule not implemented for aten::lstm.input"): an error, never a wrong number. The batch
    axis of the module is the way to run many sequences; vmap(grad(...)) works (test above)."""
    module, problem, shapes, kwargs, call = build(entry, "L1-padded", torch.float64)
    twin = entry.torch_twin(*shapes.args, **kwargs)
    for m in (twin, module):
        params = {name: p.detach() for name, p in m.named_parameters()}
        with pytest.raises(RuntimeError, match="Batching rule not implemented"):
            torch.func.vmap(lambda x: torch.func.functional_call(m, params, (x.unsqueeze(1),))[0], 1)(problem.x)


@ENTRIES
def test_vectorized_jacobian_equals_the_row_by_row_one(entry):
    """jacobian(..., vectorize=True) runs the backward under vmap (is_grads_batched): the same Jacobian."""
    module, problem, shapes, kwargs, call = build(entry, DIFFERENTIATE, torch.float64)
    f, point = as_function(module, problem, **call)
    x_only = lambda x: f(x, *point[1:])  # noqa: E731
    vectorized = torch.autograd.functional.jacobian(x_only, point[0], vectorize=True)
    row_by_row = torch.autograd.functional.jacobian(x_only, point[0])
    assert max(j.abs().max() for j in row_by_row) > 1e-3
    for a, b in zip(vectorized, row_by_row, strict=True):
        assert (a - b).abs().max() <= 1e-12
