"""The recurrent time loops in C++: a fast path of :mod:`lstmlib.nn.fast_paths`, behind its switch.

The LSTM, the peephole LSTM and the CIFG run forward and backward here; the GRU
and the plain RNN their forward (their backward stays the Python loop, fed by the
caches the forward fills).

Why: a Python time loop issues about ten tensor operations per step, and each
costs several microseconds of interpreter and dispatcher time before any
arithmetic. At the sizes the book trains (H <= 128) that overhead was most of
an LSTM's time, and it is why ``torch.nn.LSTM`` (one oneDNN primitive per
sequence) ran 1.4-3.4 times faster than our Python loop (benchmarks/README.md).
``native_loops.cpp`` runs the same loops with one matrix product (its own
kernel, the weight packed once per sequence) and one fused, vectorised pass
over the gates per step, forward and backward. It fills the very caches the
Python loops fill, with the same layouts, so the autograd Functions around
them and every other path (second derivatives, ``torch.func``, vmap, tracers)
stay as they are: those still run the Python loops.

How it is built: on first use, with the system's C++ compiler (``g++``, or
``$CXX``) and OpenMP (the ``libgomp.so.1`` that PyTorch itself loads serves
both), into ``~/.cache/lstmlib`` (``$LSTMLIB_NATIVE_CACHE`` to move it; the
file name carries a hash of the source, the compiler flags, the compiler, the
torch version and the CPU, so a changed source, or another CPU, builds anew). ``make`` builds it once
when it creates the virtualenv; it takes about two seconds. Before first use
it is checked against the Python loops on fixed values. If there is no
compiler, or the build or the check fails, lstmlib warns once, naming the
reason, and uses the Python loops.

When: CPU tensors, float32 or float64, the fast paths switched on
(``LSTMLIB_FAST_PATHS``, :func:`lstmlib.nn.fast_paths.set_enabled`) and not
tracing; never for tensors that ``torch.func`` transforms wrap.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from . import fast_paths

__all__ = [
    "COUPLED", "GRU", "LSTM", "PEEPHOLE", "RNN_RELU", "RNN_TANH",
    "backward", "build", "disabled", "forward", "gru_forward", "library_path", "rnn_forward", "set_enabled",
    "usable",
]

LSTM, PEEPHOLE, COUPLED, RNN_TANH, RNN_RELU, GRU = range(6)  # the variants of native_loops.cpp's forward
_GATE_BLOCKS = {LSTM: 4, PEEPHOLE: 4, COUPLED: 3}
_ACT_BLOCKS = {LSTM: 4, PEEPHOLE: 5, COUPLED: 3}  # the peephole LSTM keeps tanh(c_t) as a 5th block

SOURCE = Path(__file__).with_name("native_loops.cpp")
TRICK = "C++ time loops of lstmlib.nn (lstmlib/nn/native_loops.cpp)"
_FLAGS = ("-O3", "-march=native", "-std=c++17", "-fPIC", "-shared", "-fno-math-errno", "-fopenmp")

_library: ctypes.CDLL | None = None
_switch = fast_paths.Switch(True, "the C++ loops")  # this module's own switch, under fast_paths' (set_enabled())


def _cpu() -> str:
    """The CPU's model and instruction-set flags (``-march=native`` builds for them), "" where unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags"))]
    except OSError:
        return platform.machine()
    return "".join(sorted(set(lines)))


def library_path() -> Path:
    """Where the compiled loops live (or will): one file per source, flags, compiler, torch version and CPU
    (a cache shared by machines of different CPUs must not hand one the other's ``-march=native`` build)."""
    compiler = os.environ.get("CXX", "g++")
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(_FLAGS).encode(), compiler.encode(), torch.__version__.encode(),
                 sys.platform.encode(), _cpu().encode()):
        key.update(part)
    cache = Path(os.environ.get("LSTMLIB_NATIVE_CACHE") or Path.home() / ".cache" / "lstmlib")
    return cache / f"native_loops-{key.hexdigest()[:16]}.so"


def build() -> Path:
    """Compile ``native_loops.cpp`` unless this exact build exists; return the library's path.

    Raises ``RuntimeError`` with the compiler's message when it fails. Safe
    when several processes build at once: each compiles to a file of its own
    and renames it into place.
    """
    target = library_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        out = Path(scratch) / target.name
        command = [os.environ.get("CXX", "g++"), *_FLAGS, str(SOURCE), "-o", str(out)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError(f"could not run the C++ compiler ({' '.join(command[:1])}): {error}") from error
        if done.returncode != 0:
            raise RuntimeError(f"the C++ compiler failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
        os.replace(out, target)
    return target


def _load() -> ctypes.CDLL:
    """Build (if needed) and load the library, declaring its functions' argument types."""
    global _library
    if _library is None:
        lib = ctypes.CDLL(str(build()))
        p, n = ctypes.c_void_p, ctypes.c_long
        for suffix in ("f32", "f64"):
            getattr(lib, f"lstmlib_forward_{suffix}").argtypes = [ctypes.c_int, n, n, n] + [p] * 6 + [
                ctypes.c_int, ctypes.c_int] + [p] * 4
            getattr(lib, f"lstmlib_backward_{suffix}").argtypes = [ctypes.c_int, n, n, n] + [p] * 9 + [
                ctypes.c_int] + [p] * 4
        _library = lib
    return _library


def _works() -> bool:
    """The C++ loops against the Python ones on fixed values, in float64 and float32: every variant's
    forward and backward through time, with a mask that freezes some sequences early."""
    _load()
    from .coupled import _coupled_loop, coupled_gates_backward
    from .gru import _gru_loop
    from .lstm import _lstm_loop, lstm_gates_backward
    from .peephole import _peephole_loop, peephole_gates_backward
    from .rnn import _rnn_loop

    T, B, H = 3, 2, 3
    base = torch.arange(T * B * 4 * H, dtype=torch.float64).view(T, B, 4 * H).div(17).sin()
    h_base = torch.arange(B * H, dtype=torch.float64).view(B, H).div(5).cos()
    w_base = torch.arange(4 * H * H, dtype=torch.float64).view(4 * H, H).div(11).sin()
    mask = torch.tensor([[True, True], [True, False], [False, False]]).unsqueeze(2)
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        xw, h_0, w = base.to(dtype), h_base.to(dtype), w_base.to(dtype)
        c_0, dy = h_0.flip(1).contiguous(), xw[..., :H].cos().contiguous()
        peep = tuple(torch.linspace(-0.5, 0.5, H, dtype=dtype) * k for k in (1, 2, 3))
        xw3, w3 = xw[..., :3 * H].contiguous(), w[:3 * H].contiguous()
        for m in (None, mask):
            grads = (dy, h_0, c_0)
            plain, fast = _lstm_loop(xw, h_0, c_0, w, m, True), forward(LSTM, xw, h_0, c_0, w, None, m, True)
            pairs = [(plain, fast), (lstm_gates_backward(*plain[2:], *grads, w, m),
                                     backward(LSTM, *fast[2:], None, *grads, w, m))]
            plain, fast = _coupled_loop(xw3, h_0, c_0, w3, m, True), forward(COUPLED, xw3, h_0, c_0, w3, None, m, True)
            pairs += [(plain, fast), (coupled_gates_backward(*plain[2:], *grads, w3, m),
                                      backward(COUPLED, *fast[2:], None, *grads, w3, m))]
            plain = _peephole_loop(xw, h_0, c_0, w, peep, m, True)
            fast = forward(PEEPHOLE, xw, h_0, c_0, w, peep, m, True)
            want = peephole_gates_backward(*plain[2:], *grads, w, peep, m)
            got = backward(PEEPHOLE, *fast[2:], None, peep, *grads, w, m)
            da = want[0].view(T, B, 4, H)
            dpeep = torch.stack([(da[:, :, 0] * plain[3][:-1]).sum((0, 1)), (da[:, :, 1] * plain[3][:-1]).sum((0, 1)),
                                 (da[:, :, 3] * plain[3][1:]).sum((0, 1))])
            pairs += [(plain, fast), ((*want, dpeep), got)]
            xw1, w1 = xw[..., :H].contiguous(), w[:H].contiguous()
            for act in ("tanh", "relu"):
                pairs.append(((_rnn_loop(xw1, h_0, w1, m, act),), (rnn_forward(xw1, h_0, w1, m, act),)))
            for bias_hn in (None, peep[0]):
                pairs.append((_gru_loop(xw3, h_0, w3, bias_hn, m, True), gru_forward(xw3, h_0, w3, bias_hn, m, True)))
            for want, got in pairs:
                if not all(torch.allclose(a, b, rtol=0, atol=tolerance) for a, b in zip(want, got)):
                    return False
    return True


def set_enabled(flag: bool) -> bool:
    """Turn the C++ loops on (True, the default) or off (False: the Python loops, with the other fast paths
    still on); return the previous setting.

    The two loops compute the same numbers up to float32 rounding, and training amplifies rounding: a
    run recorded with the Python loops is reproduced to the last bit only by them (chapter I.1 keeps its
    recorded training runs that way).
    """
    return _switch.set_enabled(flag)


def disabled() -> contextlib.AbstractContextManager[None]:
    """``with native.disabled():`` runs its body with the Python time loops (see :func:`set_enabled`)."""
    return _switch.disabled()


def usable(*tensors: torch.Tensor | None) -> bool:
    """Whether the C++ loops may run on these tensors (None entries ignored): the fast paths on, not tracing,
    plain CPU tensors of one floating dtype (float32 or float64), and the library built and checked."""
    if not (_switch.on and fast_paths.enabled()):
        return False
    dtype = None
    functorch = torch._C._functorch
    for t in tensors:
        if t is None:
            continue
        if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.device.type != "cpu" or t.layout != torch.strided:
            return False
        if functorch.is_functorch_wrapped_tensor(t) or functorch.is_batchedtensor(t):
            return False
        if t.dtype != torch.bool:
            if t.dtype not in (torch.float32, torch.float64) or (dtype is not None and t.dtype != dtype):
                return False
            dtype = t.dtype
    return fast_paths._probe(TRICK, _works)


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _call(name: str, function, *args) -> None:
    """``function(*args)``; while PyTorch's profiler records, inside a record named ``lstmlib::name`` (so that
    profiles show the C++ loop as the one call it is; off the profiler that costs nothing)."""
    if torch.autograd._profiler_enabled():
        with torch.profiler.record_function(f"lstmlib::{name}"):
            function(*args)
    else:
        function(*args)


def forward(
    variant: int,
    xw: torch.Tensor,
    h_0: torch.Tensor,
    c_0: torch.Tensor,
    weight_hh: torch.Tensor,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, ...]:
    """One layer-direction's recurrence, as the Python loop of ``variant`` returns it.

    ``xw: (T, B, K H)`` (K = 4, or 3 for the CIFG), ``h_0, c_0: (B, H)``,
    ``weight_hh: (K H, H)``, ``peepholes``: ``(w_ci, w_cf, w_co)`` each ``(H,)`` for
    the peephole LSTM, ``mask: (T, B, 1)`` bool or None. Returns ``y: (T, B, H)``,
    ``c_n: (B, H)``, ``acts: (n, B, A, H)``, ``cs: (n + 1, B, H)`` (n = T with
    ``keep``, else 1; cs has 1 row without keep) and ``tanh_cs: (n, B, H)``
    (None for the peephole LSTM, whose acts hold tanh(c_t) as block A = 5).
    """
    T, B, G = xw.shape
    K, A = _GATE_BLOCKS[variant], _ACT_BLOCKS[variant]
    H = G // K
    n = T if keep else 1
    xw, h_0, c_0, weight_hh = (t.contiguous() for t in (xw, h_0, c_0, weight_hh))
    peep = torch.cat(peepholes).contiguous() if peepholes is not None else None
    mask_bytes = mask.reshape(T, B).contiguous() if mask is not None else None
    y = xw.new_empty((T, B, H))
    cs = xw.new_empty((n + 1 if keep else 1, B, H))
    acts = xw.new_empty((n, B, A, H))
    tanh_cs = xw.new_empty((n, B, H)) if variant != PEEPHOLE else None
    _forward_call(xw.dtype, variant, T, B, H, xw, h_0, c_0, weight_hh, peep, mask_bytes, int(keep),
                  torch.get_num_threads(), y, cs, acts, tanh_cs)
    outputs = (y, cs[-1], acts, cs)
    return outputs if variant == PEEPHOLE else outputs + (tanh_cs,)


def _forward_call(dtype, *args) -> None:
    """``lstmlib_forward_f32/_f64(*args)`` (by ``dtype``), each tensor (or None) passed as its address."""
    lib = _load()
    run = lib.lstmlib_forward_f32 if dtype == torch.float32 else lib.lstmlib_forward_f64
    _call("native_forward", run, *(_ptr(a) if isinstance(a, torch.Tensor) or a is None else a for a in args))


def rnn_forward(
    xw: torch.Tensor, h_0: torch.Tensor, weight_hh: torch.Tensor, mask: torch.Tensor | None, nonlinearity: str
) -> torch.Tensor:
    """:func:`lstmlib.nn.rnn._rnn_loop` in C++: ``xw: (T, B, H)``, ``h_0: (B, H)``, ``weight_hh: (H, H)``,
    ``mask: (T, B, 1)`` or None, ``nonlinearity`` 'tanh' or 'relu' -> ``y: (T, B, H)``."""
    T, B, H = xw.shape
    xw, h_0, weight_hh = (t.contiguous() for t in (xw, h_0, weight_hh))
    mask_bytes = mask.reshape(T, B).contiguous() if mask is not None else None
    y = torch.empty_like(xw)
    variant = RNN_RELU if nonlinearity == "relu" else RNN_TANH
    _forward_call(xw.dtype, variant, T, B, H, xw, h_0, None, weight_hh, None, mask_bytes, 0,
                  torch.get_num_threads(), y, None, None, None)
    return y


def gru_forward(
    xw: torch.Tensor,
    h_0: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_hn: torch.Tensor | None,
    mask: torch.Tensor | None,
    keep: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """:func:`lstmlib.nn.gru._gru_loop` in C++, same arguments and results: ``y: (T, B, H)``, and the caches
    ``acts: (T, B, 3H)`` = [r, z, a_hn] (None without ``keep``), ``ns`` and ``h_{t-1} - n_t``: ``(n, B, H)``."""
    T, B, G = xw.shape
    H = G // 3
    n = T if keep else 1
    xw, h_0, weight_hh = (t.contiguous() for t in (xw, h_0, weight_hh))
    bias_hn = bias_hn.contiguous() if bias_hn is not None else None
    mask_bytes = mask.reshape(T, B).contiguous() if mask is not None else None
    y, acts = xw.new_empty((T, B, H)), xw.new_empty((n, B, G))
    ns, h_minus_ns = xw.new_empty((n, B, H)), xw.new_empty((n, B, H))
    _forward_call(xw.dtype, GRU, T, B, H, xw, h_0, None, weight_hh, bias_hn, mask_bytes, int(keep),
                  torch.get_num_threads(), y, ns, acts, h_minus_ns)
    return y, (acts if keep else None), ns, h_minus_ns


def backward(
    variant: int,
    acts: torch.Tensor,
    cs: torch.Tensor,
    tanh_cs: torch.Tensor | None,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    dy: torch.Tensor,
    dh_n: torch.Tensor,
    dc_n: torch.Tensor,
    weight_hh: torch.Tensor,
    mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backpropagation through time from :func:`forward`'s caches (kept with ``keep=True``).

    ``acts: (T, B, A, H)``, ``cs: (T+1, B, H)``, ``tanh_cs: (T, B, H)`` (None for the peephole LSTM),
    ``dy: (T, B, H)``, ``dh_n, dc_n: (B, H)``, ``weight_hh: (K H, H)``, ``mask: (T, B, 1)`` or None.
    Returns ``dgates: (T, B, K H)`` = dL/da at every step, and dL/dh_0, dL/dc_0 ``(B, H)``: what
    :func:`lstmlib.nn.lstm.lstm_gates_backward` (and its peephole and CIFG twins) return; for the peephole
    LSTM also the peepholes' gradients ``(3, H)`` (dL/dw_ci, dL/dw_cf, dL/dw_co), summed in the same loop.
    """
    lib = _load()
    T, B, _, H = acts.shape
    K = _GATE_BLOCKS[variant]
    acts, cs, dy, dh_n, dc_n, weight_hh = (t.contiguous() for t in (acts, cs, dy, dh_n, dc_n, weight_hh))
    tanh_cs = tanh_cs.contiguous() if tanh_cs is not None else None
    peep = torch.cat(peepholes).contiguous() if peepholes is not None else None
    mask_bytes = mask.reshape(T, B).contiguous() if mask is not None else None
    dgates = acts.new_empty((T, B, K * H))
    dh, dc = dh_n.new_empty((B, H)), dh_n.new_empty((B, H))
    dpeep = acts.new_empty((3, H)) if variant == PEEPHOLE else None
    run = lib.lstmlib_backward_f32 if acts.dtype == torch.float32 else lib.lstmlib_backward_f64
    _call("native_backward", run, variant, T, B, H, _ptr(acts), _ptr(cs), _ptr(tanh_cs), _ptr(peep), _ptr(dy),
          _ptr(dh_n), _ptr(dc_n), _ptr(weight_hh), _ptr(mask_bytes), torch.get_num_threads(), _ptr(dgates), _ptr(dh),
          _ptr(dc), _ptr(dpeep))
    return (dgates, dh, dc) if dpeep is None else (dgates, dh, dc, dpeep)
