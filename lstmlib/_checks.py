"""Input validation shared by :mod:`lstmlib.reference` and :mod:`lstmlib.nn`.

Every public function validates what it is given and fails early with a
message that names the argument, says what was expected and what arrived:
``ValueError`` for a wrong value or shape, ``TypeError`` for a wrong type or
dtype. The helpers work on anything with ``.ndim``, ``.shape`` and ``.dtype``,
so NumPy arrays and PyTorch tensors go through the same checks.

A wrong shape or dtype of an array argument raises :class:`InputShapeError`
or :class:`InputDtypeError`: a ``ValueError`` / ``TypeError`` that is also a
``RuntimeError``, the type PyTorch raises for the same mistakes, so code
written for ``torch.nn`` that catches ``RuntimeError`` catches ours too.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


class InputShapeError(ValueError, RuntimeError):
    """An array argument has the wrong rank or size (torch raises ``RuntimeError`` for such input)."""


class InputDtypeError(TypeError, RuntimeError):
    """An array argument has the wrong dtype (torch raises ``RuntimeError`` for such input)."""


def _shape(arr: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in arr.shape)


def _dtype_name(arr: Any) -> str:
    # torch dtypes print as "torch.float32", NumPy's as "float32".
    return str(arr.dtype).replace("torch.", "")


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int; got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1); got {value}")
    return int(value)


def check_int_at_least(name: str, value: Any, minimum: int, why: str = "") -> int:
    """Return ``value`` if it is an int >= ``minimum`` (itself >= 1); ``why`` says where the minimum comes from."""
    value = check_positive_int(name, value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}{why}; got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise a ``TypeError`` naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False); got {type(value).__name__} {value!r}")
    return value


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1]; got {type(value).__name__} {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1]; got {value}")
    return float(value)


def check_array_type(name: str, arr: Any, array_type: type, what: str) -> None:
    """Raise ``TypeError`` unless ``arr`` is an instance of ``array_type``."""
    if not isinstance(arr, array_type):
        raise TypeError(f"{name} must be {what}; got {type(arr).__name__}")


def check_rank(name: str, arr: Any, ranks: Sequence[int], layout: str) -> None:
    """Require ``arr.ndim`` to be one of ``ranks``; ``layout`` names the axes, e.g. ``"(T, B, D)"``."""
    if arr.ndim not in ranks:
        wanted = " or ".join(str(r) for r in ranks)
        raise InputShapeError(
            f"{name} must have {wanted} dimensions {layout}; "
            f"got {arr.ndim} dimensions with shape {_shape(arr)}"
        )


def check_axis_size(name: str, arr: Any, axis: int, expected: int, symbol: str, layout: str) -> None:
    """Require ``arr.shape[axis] == expected``; ``symbol`` is the size's name in the book (``"D"``)."""
    got = _shape(arr)[axis]
    if got != expected:
        raise InputShapeError(
            f"{name} must have {symbol}={expected} along axis {axis} of {layout}; "
            f"got shape {_shape(arr)} ({symbol}={got})"
        )


def check_shape(name: str, arr: Any, expected: Sequence[int], layout: str) -> None:
    """Require the exact shape ``expected``; ``layout`` names the axes, e.g. ``"(B, H)"``."""
    if _shape(arr) != tuple(expected):
        raise InputShapeError(f"{name} must have shape {layout} = {tuple(expected)}; got {_shape(arr)}")


def check_nonempty_time(name: str, arr: Any, axis: int = 0) -> None:
    """Require at least one time step along ``axis``."""
    if _shape(arr)[axis] == 0:
        raise InputShapeError(
            f"{name} must hold at least one time step (T >= 1 on axis {axis}); "
            f"got an empty sequence with shape {_shape(arr)}"
        )


def check_floating(name: str, arr: Any) -> None:
    """Require a floating-point dtype (integer inputs are a common slip)."""
    is_float = arr.is_floating_point() if hasattr(arr, "is_floating_point") else np.issubdtype(arr.dtype, np.floating)
    if not is_float:
        raise InputDtypeError(f"{name} must have a floating-point dtype; got {_dtype_name(arr)}")


def check_dtype(name: str, arr: Any, expected: str, why: str = "") -> None:
    """Require the exact dtype named ``expected`` (``"int64"``, ``"bool"``), NumPy or torch alike."""
    if _dtype_name(arr) != expected:
        raise TypeError(f"{name} must have dtype {expected}{why}; got {_dtype_name(arr)}")


def check_same_dtype(name: str, arr: Any, ref_name: str, ref: Any) -> None:
    """Require ``arr`` to share the dtype of ``ref`` (no silent up- or down-casting)."""
    if arr.dtype != ref.dtype:
        raise InputDtypeError(
            f"{name} must have the dtype of {ref_name} ({_dtype_name(ref)}); got {_dtype_name(arr)}"
        )


def check_finite(name: str, arr: Any) -> None:
    """Require every entry to be finite (no NaN or infinity)."""
    finite = np.isfinite(arr)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{name} must be finite; got {bad} non-finite value(s) (NaN or inf)")


def check_keys(name: str, mapping: Any, expected: Sequence[str]) -> None:
    """Require ``mapping`` to have exactly the keys ``expected``; name the missing and unexpected ones."""
    missing = [k for k in expected if k not in mapping]
    unexpected = [k for k in mapping if k not in expected]
    if missing or unexpected:
        problems = [f"{label} {keys}" for label, keys in (("missing", missing), ("unexpected", unexpected)) if keys]
        raise ValueError(f"{name} must have exactly the keys {list(expected)}; {', '.join(problems)}")


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is a floating-point NumPy dtype, else raise ``TypeError``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating-point NumPy dtype such as np.float64; got {dtype!r}") from None
    if not np.issubdtype(resolved, np.floating):
        raise TypeError(f"{name} must be a floating-point NumPy dtype such as np.float64; got {resolved}")
    return resolved


def check_rng(name: str, rng: Any) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed >= 0 or a ``np.random.Generator``) into a Generator.

    None gives a fresh, unseeded generator; an int seeds a new one, so the same
    seed always gives the same draws; a Generator is used (and advanced) as is.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be None, an int seed or a np.random.Generator; got {type(rng).__name__} {rng!r}")
    if rng < 0:
        raise ValueError(f"{name} must be a non-negative int seed; got {rng}")
    return np.random.default_rng(int(rng))


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise list the allowed ones."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def check_positive_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number > 0 (a learning rate, a temperature)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number; got {type(value).__name__} {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number; got {value}")
    return float(value)


def check_range(name: str, value: Any, minimum: float, *, strict: bool = False, unit: str = "") -> tuple[float, float]:
    """Return ``value`` as a pair ``(low, high)`` of finite numbers with ``minimum <= low <= high``.

    ``strict`` asks for ``minimum < low`` instead; ``unit`` (e.g. ``" (in time steps)"``) ends the message.
    """
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of numbers; got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise TypeError(f"{name} must be a pair (low, high) of finite numbers; got {value!r}")
    low, high = float(value[0]), float(value[1])
    above = minimum < low if strict else minimum <= low
    if not (above and low <= high):
        raise ValueError(f"{name} must satisfy {minimum:g} {'<' if strict else '<='} low <= high{unit}; got {value!r}")
    return low, high


def check_token_ids(name: str, ids: Any, *, vocab_size: int | None = None, min_tokens: int = 0,
                    why: str = "") -> np.ndarray:
    """Return ``ids``, a 1-D integer array of token ids ``(N,)``, as int64 NumPy.

    A torch tensor is accepted and copied to the CPU. ``vocab_size`` bounds
    the ids to ``[0, vocab_size - 1]``; ``min_tokens`` is the shortest
    length allowed, and ``why`` (e.g. ``" (length + 1: one window)"``) says
    in the message where that minimum comes from.
    """
    if hasattr(ids, "detach"):
        ids = ids.detach().cpu().numpy()
    if not isinstance(ids, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of token ids (N,); got {type(ids).__name__}")
    if ids.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension (N,); got shape {_shape(ids)}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype; got {_dtype_name(ids)}")
    if ids.size < min_tokens:
        raise ValueError(f"{name} must hold at least {min_tokens} token(s){why}; got {ids.size}")
    if vocab_size is not None and ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}]; got values from {ids.min()} to {ids.max()}")
    return ids.astype(np.int64, copy=False)


def check_next_token_model(name: str, model: Any) -> Any:
    """Return ``model`` if it looks like a next-token model, else raise ``TypeError``.

    A next-token model is a ``torch.nn.Module`` with an int ``vocab_size``
    whose ``forward(x, state=None)`` maps token ids ``x: (T, B)`` to
    ``(logits (T, B, vocab_size), state)`` (e.g. :class:`lstmlib.models.CharLSTM`).
    Checked by duck typing, so this module needs no torch.
    """
    vocab_size = getattr(model, "vocab_size", None)
    is_module = all(callable(getattr(model, method, None)) for method in ("forward", "train", "eval"))
    if not is_module or isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral):
        raise TypeError(
            f"{name} must be a next-token model (a torch.nn.Module with an int vocab_size whose "
            f"forward(x, state) returns (logits, state), such as CharLSTM); got {type(model).__name__}"
        )
    return model


def check_kernel_size(kernel_size: Any) -> tuple[int, int]:
    """Return ``kernel_size`` (an odd positive int, or a pair of them) as a pair ``(kh, kw)``."""
    pair = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
    if len(pair) != 2:
        raise ValueError(f"kernel_size must be an odd int or a pair (kh, kw) of odd ints; got {kernel_size!r}")
    for k in pair:
        check_positive_int("kernel_size", k)
    if any(k % 2 == 0 for k in pair):
        raise ValueError(
            "kernel_size must be odd (an odd int or a pair (kh, kw) of odd ints): only an odd kernel has a "
            f"centre, so that 'same' padding keeps the frame size; got {kernel_size!r}"
        )
    return (int(pair[0]), int(pair[1]))


def check_frame_size(frame_size: Any, peephole: bool) -> tuple[int, int] | None:
    """``frame_size`` is required (a pair of positive ints ``(H, W)``) exactly when ``peephole`` is True."""
    if not peephole:
        if frame_size is not None:
            raise ValueError(
                "frame_size is only used by the peephole weights (Hc, H, W); pass peephole=True with it, "
                f"or leave frame_size=None; got frame_size={frame_size!r} with peephole=False"
            )
        return None
    if frame_size is None:
        raise ValueError(
            "frame_size=(H, W) is required with peephole=True: the peephole weights hold one value per "
            "channel and position, (Hc, H, W); got frame_size=None"
        )
    if not isinstance(frame_size, (tuple, list)) or len(frame_size) != 2:
        raise TypeError(f"frame_size must be a pair (H, W) of positive ints; got {frame_size!r}")
    return (check_positive_int("frame_size", frame_size[0]), check_positive_int("frame_size", frame_size[1]))


def check_frames(name: str, arr: Any, frame_size: tuple[int, int] | None) -> None:
    """With peepholes (``frame_size`` not None), ``arr``'s frames (its last two axes) must be ``frame_size``."""
    if frame_size is not None and _shape(arr)[-2:] != tuple(frame_size):
        raise InputShapeError(
            f"{name} must have frames of size (H, W) = {tuple(frame_size)}, the frame_size of the peephole weights; "
            f"got shape {_shape(arr)} with frames {_shape(arr)[-2:]}"
        )


def check_no_projection(proj_size: Any, owner: str) -> None:
    """``proj_size`` is accepted for drop-in use with ``torch.nn.LSTM``'s arguments, but must be 0."""
    if isinstance(proj_size, bool) or proj_size != 0:
        raise ValueError(
            f"proj_size must be 0: LSTM projections (proj_size > 0) are not supported by "
            f"{owner}; got proj_size={proj_size!r}. Use torch.nn.LSTM for projections."
        )


def check_features(
    name: str, arr: Any, ranks: Sequence[int], layout: str, size: int, ref: Any, axes: Sequence[str] = ("D",)
) -> None:
    """Rank, floating dtype equal to ``ref``'s (the parameters), size ``size`` on the feature axis.

    axes: names of the trailing axes of one step's input, feature axis first
    (``("D",)``: the last axis; ConvLSTM's ``("C", "H", "W")``: the third from last).
    """
    check_rank(name, arr, ranks, layout)
    check_floating(name, arr)
    check_same_dtype(name, arr, "the parameters", ref)
    check_axis_size(name, arr, arr.ndim - len(axes), size, axes[0], layout)


def check_states(
    state_names: Sequence[str], hx: Any, expected: Sequence[int], layout: str, like: Any, array_type: type
) -> tuple[Any, ...]:
    """Unpack and validate initial states: ``hx`` is one array (one state) or a tuple, one per state name.

    Each must be an ``array_type`` of shape ``expected`` (``layout`` names its
    axes) with the dtype of ``like`` (the input). Returns the states as a tuple.
    """
    type_name = f"{array_type.__module__.split('.')[0]}.{array_type.__name__}"  # e.g. torch.Tensor
    if len(state_names) == 1:
        check_array_type("hx", hx, array_type, f"a {type_name} {state_names[0]}")
        states = (hx,)
    else:
        what = f"a tuple ({', '.join(state_names)}) of {len(state_names)} tensors"
        check_array_type("hx", hx, (tuple, list), what)
        if len(hx) != len(state_names):
            raise ValueError(f"hx must be {what}; got a {type(hx).__name__} of {len(hx)} item(s)")
        for k, (name, state) in enumerate(zip(state_names, hx)):
            check_array_type(f"hx[{k}] ({name})", state, array_type, f"a {type_name}")
        states = tuple(hx)
    for k, (name, state) in enumerate(zip(state_names, states)):
        label = name if len(states) == 1 else f"hx[{k}] ({name})"
        check_shape(label, state, expected, layout)
        check_same_dtype(label, state, "input", like)
    return states
