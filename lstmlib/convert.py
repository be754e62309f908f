"""Convert LSTM weights between PyTorch's layout and Keras's.

Both frameworks compute the same step (chapter *Anatomy of an LSTM unit*) and
stack the four gate blocks in the same order: input, forget, candidate,
output. PyTorch calls the candidate ``g`` (order i, f, g, o), Keras calls it
``c`` (order i, f, c, o), so no block has to move. Two things differ::

    PyTorch, torch.nn.LSTM state_dict      Keras, keras.layers.LSTM weights
    weight_ih_l0  (4H, D)  a += W x_t       kernel            (D, 4H)  a += x_t @ kernel
    weight_hh_l0  (4H, H)  a += U h_{t-1}   recurrent_kernel  (H, 4H)  a += h_{t-1} @ recurrent_kernel
    bias_ih_l0    (4H,)    a += b_ih        bias              (4H,)    a += b
    bias_hh_l0    (4H,)    a += b_hh

1. PyTorch multiplies a column vector from the left (``W x``), Keras a row
   vector from the right (``x @ kernel``): each matrix is the other's transpose.
2. PyTorch keeps two bias vectors (a legacy of cuDNN), Keras one. Only their
   sum enters the step, so PyTorch -> Keras adds them, and Keras -> PyTorch
   puts the whole bias in ``bias_ih`` and zeros in ``bias_hh`` (any split with
   the same sum computes the same function).

Arrays come back as new NumPy arrays of the input's dtype. PyTorch tensors are
accepted on input (``.detach().cpu().numpy()`` is applied); to load the result
into a module, wrap each array with ``torch.from_numpy``. The PyTorch-layout
dict with the default ``suffix="_l0"`` is also a valid ``params`` dict of
:mod:`lstmlib.reference`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lstmlib._checks import check_array_type, check_finite, check_floating, check_rank, check_same_dtype

__all__ = ["keras_to_torch", "torch_to_keras"]

TORCH_GATE_ORDER = ("i", "f", "g", "o")
KERAS_GATE_ORDER = ("i", "f", "c", "o")
KERAS_KEYS = ("kernel", "recurrent_kernel", "bias")


def torch_to_keras(state_dict, *, suffix="_l0"):
    """PyTorch LSTM weights -> Keras LSTM weights.

    state_dict: a ``torch.nn.LSTM`` (or ``lstmlib.nn.LSTM``) ``state_dict``,
    or a :mod:`lstmlib.reference` ``params`` dict, holding
    ``weight_ih{suffix}`` (4H, D), ``weight_hh{suffix}`` (4H, H) and either
    both of ``bias_ih{suffix}``, ``bias_hh{suffix}`` (4H,) or neither. Other
    keys (other layers and directions) are ignored; pick one with
    ``suffix``, e.g. ``"_l1"`` or ``"_l0_reverse"``.

    Returns ``{"kernel": (D, 4H), "recurrent_kernel": (H, 4H), "bias": (4H,)}``
    (no ``"bias"`` when the layer has none), the order of
    ``keras.layers.LSTM(H).get_weights()``.
    """
    w = _torch_arrays(state_dict, suffix)   # validated NumPy arrays
    # W x_t = x_t @ W.T: Keras keeps the transposes; the gate blocks stay put
    keras = {
        "kernel": np.ascontiguousarray(w["weight_ih"].T),            # (D, 4H)
        "recurrent_kernel": np.ascontiguousarray(w["weight_hh"].T),  # (H, 4H)
    }
    if "bias_ih" in w:
        # only the sum b_ih + b_hh enters the gates
        keras["bias"] = w["bias_ih"] + w["bias_hh"]                  # (4H,)
    return keras


def keras_to_torch(weights, *, suffix="_l0"):
    """Keras LSTM weights -> PyTorch LSTM weights.

    weights: ``{"kernel": (D, 4H), "recurrent_kernel": (H, 4H), "bias": (4H,)}``
    (``"bias"`` optional), or the list ``[kernel, recurrent_kernel, bias]``
    that ``keras.layers.LSTM.get_weights()`` returns (two entries without
    bias).

    Returns ``{weight_ih{suffix}: (4H, D), weight_hh{suffix}: (4H, H),
    bias_ih{suffix}: (4H,), bias_hh{suffix}: (4H,)}`` with Keras's bias in
    ``bias_ih`` and zeros in ``bias_hh``; no bias keys when ``weights`` has
    no bias.
    """
    _check_suffix(suffix)
    k = _keras_arrays(weights)              # validated NumPy arrays
    # x_t @ kernel = kernel.T x_t: transpose back; the gate blocks stay put
    torch_layout = {
        f"weight_ih{suffix}": np.ascontiguousarray(k["kernel"].T),            # (4H, D)
        f"weight_hh{suffix}": np.ascontiguousarray(k["recurrent_kernel"].T),  # (4H, H)
    }
    if "bias" in k:
        # one bias, two slots: all of it in b_ih, so that b_ih + b_hh = b
        torch_layout[f"bias_ih{suffix}"] = k["bias"].copy()                   # (4H,)
        torch_layout[f"bias_hh{suffix}"] = np.zeros_like(k["bias"])           # (4H,)
    return torch_layout


def _torch_arrays(state_dict: Any, suffix: Any) -> dict[str, np.ndarray]:
    """``{weight_ih, weight_hh[, bias_ih, bias_hh]}`` of one layer and direction, validated."""
    _check_suffix(suffix)
    check_array_type("state_dict", state_dict, Mapping, "a PyTorch LSTM state_dict (or lstmlib.reference params)")
    names = {part: f"{part}{suffix}" for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    for part in ("weight_ih", "weight_hh"):
        if names[part] not in state_dict:
            raise ValueError(
                f"state_dict must hold '{names[part]}' (suffix={suffix!r}); "
                f"its keys are {sorted(state_dict)}"
            )
    has_bias = _bias_keys("state_dict", state_dict, names["bias_ih"], names["bias_hh"])
    arrays = {part: _as_numpy(f"state_dict['{key}']", state_dict[key])
              for part, key in names.items() if key in state_dict}
    ref = (f"state_dict['{names['weight_hh']}']", arrays["weight_hh"])
    # weight_hh (4H, H) fixes H; everything else must agree with it
    H = _hidden_size_from(ref[0], arrays["weight_hh"], gate_axis=0, layout="(4H, H)")
    _check_2d(f"state_dict['{names['weight_ih']}']", arrays["weight_ih"], axis=0, size=4 * H,
              layout="(4H, D)", H=H, ref=ref)
    if has_bias:
        for part in ("bias_ih", "bias_hh"):
            _check_bias(f"state_dict['{names[part]}']", arrays[part], H, ref)
    return arrays


def _check_suffix(suffix: Any) -> None:
    if not isinstance(suffix, str):
        raise TypeError(f"suffix must be a str such as '_l0' or '_l1_reverse'; got {type(suffix).__name__} {suffix!r}")


def _bias_keys(name: str, mapping: Mapping[str, Any], key_ih: str, key_hh: str) -> bool:
    """True if both bias keys are present, False if neither; one alone is an error."""
    present = [key in mapping for key in (key_ih, key_hh)]
    if any(present) and not all(present):
        missing = key_hh if present[0] else key_ih
        raise ValueError(f"{name} must hold both '{key_ih}' and '{key_hh}' or neither; '{missing}' is missing")
    return all(present)


def _keras_arrays(weights: Any) -> dict[str, np.ndarray]:
    """The Keras weights as ``{kernel, recurrent_kernel[, bias]}`` NumPy arrays (from a dict or a list), validated."""
    if isinstance(weights, Mapping):
        allowed, required = set(KERAS_KEYS), {"kernel", "recurrent_kernel"}
        missing = sorted(required - set(weights))
        unexpected = sorted(set(weights) - allowed)
        if missing or unexpected:
            problems = [f"{label} {keys}" for label, keys in (("missing", missing), ("unexpected", unexpected)) if keys]
            raise ValueError(
                f"weights must have the keys ['kernel', 'recurrent_kernel'] and optionally 'bias'; "
                f"{', '.join(problems)}"
            )
        items = {key: weights[key] for key in KERAS_KEYS if key in weights}
    elif isinstance(weights, (list, tuple)):
        if len(weights) not in (2, 3):
            raise ValueError(
                "weights as a list must be [kernel, recurrent_kernel, bias] or [kernel, recurrent_kernel] "
                f"(the order of keras.layers.LSTM.get_weights()); got {len(weights)} entries"
            )
        items = dict(zip(KERAS_KEYS, weights))
    else:
        raise TypeError(
            "weights must be a dict {'kernel', 'recurrent_kernel', 'bias'} or the list "
            f"[kernel, recurrent_kernel, bias] of keras.layers.LSTM.get_weights(); got {type(weights).__name__}"
        )
    arrays = {key: _as_numpy(f"weights['{key}']", value) for key, value in items.items()}
    ref = ("weights['recurrent_kernel']", arrays["recurrent_kernel"])
    # recurrent_kernel (H, 4H) fixes H; everything else must agree with it
    H = _hidden_size_from(ref[0], arrays["recurrent_kernel"], gate_axis=1, layout="(H, 4H)")
    _check_2d("weights['kernel']", arrays["kernel"], axis=1, size=4 * H, layout="(D, 4H)", H=H, ref=ref)
    if "bias" in arrays:
        _check_bias("weights['bias']", arrays["bias"], H, ref)
    return arrays


def _as_numpy(name: str, value: Any) -> np.ndarray:
    """A floating, finite NumPy array from a NumPy array or a (CPU or CUDA) torch tensor."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    check_array_type(name, value, np.ndarray, "a NumPy array or a torch tensor")
    check_floating(name, value)
    check_finite(name, value)
    return value


def _hidden_size_from(name: str, arr: np.ndarray, gate_axis: int, layout: str) -> int:
    """H from the recurrent matrix, which is (4H, H) in PyTorch and (H, 4H) in Keras."""
    check_rank(name, arr, (2,), layout)
    H = arr.shape[1 - gate_axis]
    if H == 0 or arr.shape[gate_axis] != 4 * H:
        raise ValueError(
            f"{name} must have shape {layout}: four gate blocks of H units for H hidden units; "
            f"got {tuple(arr.shape)}"
        )
    return H


def _check_2d(name: str, arr: np.ndarray, axis: int, size: int, layout: str, H: int, ref) -> None:
    check_rank(name, arr, (2,), layout)
    if arr.shape[axis] != size:
        raise ValueError(
            f"{name} must have shape {layout} with 4H={size} (H={H} from {ref[0]}); got {tuple(arr.shape)}"
        )
    check_same_dtype(name, arr, *ref)


def _check_bias(name: str, arr: np.ndarray, H: int, ref) -> None:
    if arr.shape != (4 * H,):
        raise ValueError(f"{name} must have shape (4H,) = ({4 * H},) (H={H} from {ref[0]}); got {tuple(arr.shape)}")
    check_same_dtype(name, arr, *ref)
