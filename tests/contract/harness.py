"""Running a module and its oracle on the same problem, in one canonical layout.

Every run is reported time-major and batched, whatever the layout it was fed
(``batch_first``, packed, unbatched), so one dict of results compares with any
oracle: ``output: (T, B, dirs * H, ...)``, the final states ``h_n``, ``c_n``
``(L * dirs, B, H, ...)``, and the gradients ``grad_x``, ``grad_h_0``,
``grad_c_0`` and ``grad_<parameter>`` of the loss ``Σ output ⊙ dy + Σ h_n ⊙ dh_n + ...``
with random cotangents (zero at padded steps, which have no output).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmlib.trees import merge_trees, random_tree

from .registry import Entry, Shapes

FINAL_NAMES = {"h_0": "h_n", "c_0": "c_n"}


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded by the test's own parameters: random, and the same at every run."""
    return np.random.default_rng(zlib.crc32(repr(parts).encode()))


def randn(rng: np.random.Generator, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The input factory: standard normal values of ``shape``."""
    return torch.from_numpy(rng.standard_normal(shape)).to(dtype)


@dataclass
class Problem:
    """One problem in the canonical layout.

    x: (T, B, *step); states: each (L*dirs, B, *state), or None; lengths: (B,) or None (padded);
    dy: (T, B, dirs*H, ...), zero past each length; dfinals: each (L*dirs, B, *state).
    """

    x: torch.Tensor
    states: tuple[torch.Tensor, ...] | None
    lengths: list[int] | None
    dy: torch.Tensor
    dfinals: tuple[torch.Tensor, ...]


def make_problem(rng, entry: Entry, shapes: Shapes, T: int, B: int, num_states: int, dirs: int,
                 given_state: bool, packed: bool, sorted_lengths: bool, dtype: torch.dtype,
                 full_lengths: bool = False) -> Problem:
    lengths = None
    if packed and full_lengths:
        lengths = [T] * B
    elif packed:
        # the longest is T, and (B >= 2, T >= 2) one is shorter: lengths that vary, in any order
        lengths = [T, int(rng.integers(1, T))] + [int(n) for n in rng.integers(1, T + 1, size=B - 2)]
        lengths = sorted(lengths, reverse=True) if sorted_lengths else list(rng.permutation(lengths).tolist())
    x = randn(rng, (T, B, *shapes.step), dtype)
    states = tuple(randn(rng, (num_states, B, *shapes.state), dtype) for _ in entry.state_names) \
        if given_state else None
    dy = randn(rng, (T, B, dirs * shapes.hidden, *shapes.state[1:]), dtype)
    if lengths is not None:
        dy[torch.arange(T)[:, None] >= torch.tensor(lengths)[None]] = 0
    dfinals = tuple(randn(rng, (num_states, B, *shapes.state), dtype) for _ in entry.state_names)
    return Problem(x, states, lengths, dy, dfinals)


def feed(module: torch.nn.Module, x: torch.Tensor, states: tuple[torch.Tensor, ...] | None,
         lengths: list[int] | None, *, batch_first: bool = False, unbatched: bool = False,
         enforce_sorted: bool = False, check_packing: bool = True, params: dict | None = None):
    """``module`` fed ``x: (T, B, *step)`` and ``states`` in the given layout -> ``(output, finals)``, canonical.

    ``params``: parameters to use instead of the module's own (``torch.func.functional_call``).
    """
    inp, hx = x, states
    if unbatched:  # one sequence, no batch axis
        inp, hx = x[:, 0], None if states is None else tuple(s[:, 0] for s in states)
    elif batch_first:
        inp = x.transpose(0, 1)
    if lengths is not None:
        inp = pack_padded_sequence(inp, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    if hx is not None and len(hx) == 1:
        hx = hx[0]  # a single state is passed as a bare tensor, as torch does
    if params is None:
        output, finals = module(inp, hx)
    else:
        output, finals = torch.func.functional_call(module, params, (inp, hx))
    finals = finals if isinstance(finals, tuple) else (finals,)
    if lengths is not None:
        assert isinstance(output, PackedSequence)
        if check_packing:  # laid out exactly as the input, as torch does
            for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):
                a, b = getattr(output, key), getattr(inp, key)
                assert (a is None and b is None) or torch.equal(a, b), key
        output = pad_packed_sequence(output, total_length=x.shape[0])[0]
    elif unbatched:
        output, finals = output.unsqueeze(1), tuple(s.unsqueeze(1) for s in finals)
    elif batch_first:
        output = output.transpose(0, 1)
    return output, finals


def as_function(module: torch.nn.Module, problem: Problem, **layout):
    """``module`` on ``problem`` as a pure function ``f(x, *states, *parameters) -> (output, *finals)``
    (canonical layout) and the point ``(x, *states, *parameters)``, for the checks that differentiate
    with respect to everything: gradgradcheck, torch.func. ``layout``: as :func:`feed`'s keywords.
    """
    names = [name for name, _ in module.named_parameters()]
    n_states = 0 if problem.states is None else len(problem.states)

    def f(x, *rest):
        states, params = rest[:n_states], rest[n_states:]
        output, finals = feed(module, x, states or None, problem.lengths, params=dict(zip(names, params)),
                              **layout)
        return (output, *finals)

    point = (problem.x, *(problem.states or ()), *(p.detach() for p in module.parameters()))
    return f, point


def run(module: torch.nn.Module, problem: Problem, state_names: tuple[str, ...], *, batch_first: bool = False,
        unbatched: bool = False, enforce_sorted: bool = False, check_packing: bool = True,
        device: str = "cpu", backward: bool = True) -> dict[str, torch.Tensor]:
    """Forward and backward through ``module`` fed in the given layout; results in the canonical layout.

    Gradients that do not exist (frozen parameters; no ``backward``) are left out.
    """
    module.zero_grad(set_to_none=True)
    x = problem.x.to(device, copy=True).requires_grad_(True)  # a leaf of its own: the problem stays untouched
    leaves = None if problem.states is None else \
        tuple(s.to(device, copy=True).requires_grad_(True) for s in problem.states)
    output, finals = feed(module, x, leaves, problem.lengths, batch_first=batch_first, unbatched=unbatched,
                          enforce_sorted=enforce_sorted, check_packing=check_packing)
    if backward:
        loss = (output * problem.dy.to(device)).sum()
        loss = loss + sum((s * d.to(device)).sum() for s, d in zip(finals, problem.dfinals, strict=True))
        loss.backward()
    result = {"output": output, **{FINAL_NAMES[n]: s for n, s in zip(state_names, finals)}, "grad_x": x.grad}
    if leaves is not None:
        result.update({f"grad_{n}": s.grad for n, s in zip(state_names, leaves)})
    result.update({f"grad_{name}": p.grad for name, p in module.named_parameters()})
    return {key: value.detach() for key, value in result.items() if value is not None}


# ---- the reference oracle, composed into stacks, directions and packed batches ---------------

def layer_params(params: dict[str, np.ndarray], k: int, num_directions: int) -> dict[str, np.ndarray]:
    """The reference dict (``_l0`` keys) of layer-direction ``k`` of a module's state_dict."""
    layer, direction = divmod(k, num_directions)
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    return {key[: -len(suffix)] + "_l0": value for key, value in params.items() if key.endswith(suffix)}


def _reference_stack(reference, params, num_layers, dirs, hidden, x, states, dy, dfinals):
    """Forward and backward of a stacked (bidirectional) module composed from the one-layer reference.

    x: (T, B, *step); states, dfinals: tuples of (L*dirs, B, *state) (states may be None);
    dy: (T, B, dirs*H, ...). Returns the canonical results (NumPy), parameters keyed as the module's.
    """
    caches, layer_input, finals = {}, x, []
    for layer in range(num_layers):
        outputs = []
        for d in range(dirs):
            k = layer * dirs + d
            seq = layer_input[::-1] if d else layer_input
            y, final, caches[k] = reference.forward(layer_params(params, k, dirs), np.ascontiguousarray(seq),
                                                    None if states is None else tuple(s[k] for s in states))
            outputs.append(y[::-1] if d else y)
            finals.append(final)
        layer_input = np.concatenate(outputs, axis=2)
    result = {"output": layer_input}
    final_names = ("h_n", "c_n")[:len(finals[0])]
    result.update({name: np.stack([f[j] for f in finals]) for j, name in enumerate(final_names)})
    dstates, d_output = [None] * len(finals), dy
    for layer in reversed(range(num_layers)):
        d_input = 0
        for d in range(dirs):
            k = layer * dirs + d
            dy_d = d_output[:, :, d * hidden:(d + 1) * hidden]
            dparams, dx, dstates[k] = reference.backward(
                layer_params(params, k, dirs), caches[k], np.ascontiguousarray(dy_d[::-1] if d else dy_d),
                tuple(s[k] for s in dfinals))
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            result.update({f"grad_{key[:-3]}{suffix}": value for key, value in dparams.items()})
            d_input = d_input + (dx[::-1] if d else dx)
        d_output = d_input
    result["grad_x"] = d_output
    if states is not None:
        names = ("h_0", "c_0")[:len(states)]
        result.update({f"grad_{n}": np.stack([ds[j] for ds in dstates]) for j, n in enumerate(names)})
    return result


def reference_run(entry: Entry, module: torch.nn.Module, problem: Problem, shapes: Shapes) -> dict[str, torch.Tensor]:
    """The reference twin's results for ``module``'s weights on ``problem``, in float64.

    A packed batch is run one sequence at a time, each over its own length: that
    is what packing means, so it checks the masking and the per-sequence reversal.
    """
    params = {k: v.detach().cpu().double().numpy() for k, v in module.state_dict().items()}
    num_layers, dirs = getattr(module, "num_layers", 1), 2 if getattr(module, "bidirectional", False) else 1
    is_cell = not hasattr(module, "num_layers")
    if is_cell:  # layer 0, one direction, one step
        params = {f"{k}_l0": v for k, v in params.items()}
    numpy = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
    x, dy = numpy(problem.x), numpy(problem.dy)
    states = None if problem.states is None else tuple(numpy(s) for s in problem.states)
    dfinals = tuple(numpy(s) for s in problem.dfinals)
    run_stack = lambda x, states, dy, dfinals: _reference_stack(  # noqa: E731
        entry.reference, params, num_layers, dirs, shapes.hidden, x, states, dy, dfinals)
    if problem.lengths is None or min(problem.lengths) == x.shape[0]:
        result = run_stack(x, states, dy, dfinals)
    else:
        parts = []
        for b, n in enumerate(problem.lengths):
            one = lambda a: None if a is None else tuple(s[:, b:b + 1] for s in a)  # noqa: E731
            parts.append(run_stack(x[:n, b:b + 1], one(states), dy[:n, b:b + 1], one(dfinals)))
        result = {}
        for key in parts[0]:
            if key in ("output", "grad_x"):  # time-major, zero past each length
                full = np.zeros((x.shape[0], len(parts)) + parts[0][key].shape[2:])
                for b, (part, n) in enumerate(zip(parts, problem.lengths)):
                    full[:n, b] = part[key][:, 0]
                result[key] = full
            elif key.startswith("grad_") and key[5:] not in ("h_0", "c_0"):  # parameters: summed over sequences
                result[key] = sum(part[key] for part in parts)
            else:  # states: (L*dirs, B, ...)
                result[key] = np.concatenate([part[key] for part in parts], axis=1)
    if is_cell:
        result = {key.removesuffix("_l0"): value for key, value in result.items()}
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in result.items()}


def assert_close(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor], tol: float) -> None:
    """Same keys, same shapes, max abs difference within ``tol`` (times the size of the values, if above 1)."""
    assert ours.keys() == theirs.keys(), set(ours) ^ set(theirs)
    diffs = {}
    for key in ours:
        a, b = ours[key].cpu().double(), theirs[key].cpu().double()
        assert a.shape == b.shape, (key, a.shape, b.shape)
        diffs[key] = (a - b).abs().max().item() / max(1.0, b.abs().max().item())
    assert max(diffs.values()) <= tol, {k: v for k, v in diffs.items() if v > tol}


def random_forest(sizes, seed, max_children=None) -> np.ndarray:
    """Random trees merged into one forest, node indices shuffled (parents not always before children)."""
    rng = np.random.default_rng(seed)
    parent = merge_trees([([None] * n, random_tree(n, rng=rng, max_children=max_children)) for n in sizes])[1]
    perm = rng.permutation(len(parent))
    inv, old = np.argsort(perm), parent[perm]
    return np.where(old >= 0, inv[np.maximum(old, 0)], -1)
