"""Timing helpers shared by ``benchmarks/`` and the performance chapter: what machine, how busy, how fast.

Every speed claim in the book is a ratio of two codes timed in the same run
on the same machine, printed beside the machine's CPU model and vector flags
(the same code has measured 1.35x and 2.2x of torch on two AVX-512 EPYCs).

* :func:`cpu_name` -- the CPU model, its vector-instruction flags and torch's CPU kernel level.
* :func:`cpu_pressure` -- Linux's share of recent time in which tasks waited for a CPU.
* :func:`time_pair` -- the fastest time of two steps, measured alternately.
* :func:`make_step` -- a forward (no_grad) or forward+backward step of a recurrent module.
* :func:`profile_by_kind` -- a step's time split into matrix products, pointwise work, memory work,
  fused kernels, and the time outside every operation (Python, the autograd engine, the profiler).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from dataclasses import dataclass

import torch

__all__ = [
    "OP_KINDS", "OUTSIDE", "Profile", "VECTOR_FLAGS", "cpu_name", "cpu_pressure", "make_step", "op_kind",
    "profile_by_kind", "sync", "time_pair",
]


# The instruction-set flags that decide how fast a float32 GEMM and the pointwise kernels run here
# (the same code measured 1.35x torch on one EPYC and 2.2x on another with AVX-512).
VECTOR_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_name() -> str:
    """The CPU model, its vector-instruction flags and the kernel level PyTorch dispatches to."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                if flags and not model.startswith("unknown"):
                    break
    except OSError:
        pass
    shown = " ".join(flag for flag in VECTOR_FLAGS if flag in flags) or "n/a"
    return f"{model} (flags: {shown}; torch CPU capability: {torch.backends.cpu.get_cpu_capability()})"


def cpu_pressure() -> str:
    """Linux's share of recent time in which runnable tasks waited for a CPU: a busy-machine warning."""
    try:
        with open("/proc/pressure/cpu") as f:
            fields = dict(field.split("=") for field in f.readline().split()[1:])
        return f"{fields['avg10']}% over the last 10 s, {fields['avg60']}% over 60 s"
    except (OSError, KeyError, ValueError):
        return "n/a"


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def make_step(module: torch.nn.Module, x: torch.Tensor, backward: bool):
    def forward_only():
        with torch.no_grad():
            module(x)

    def forward_backward():
        module.zero_grad(set_to_none=True)
        output, _ = module(x)
        output.sum().backward()

    return forward_backward if backward else forward_only


def time_pair(step_a, step_b, device: str, rounds: int, warmup: int = 3) -> tuple[float, float]:
    """Fastest seconds of ``step_a`` and ``step_b``, measured alternately (order flipped each round)."""
    for _ in range(warmup):
        step_a(), step_b()
    times: dict[int, list[float]] = {0: [], 1: []}
    for r in range(rounds):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for k in order:
            step = (step_a, step_b)[k]
            sync(device)
            start = time.perf_counter()
            step()
            sync(device)
            times[k].append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


# What an operation of the PyTorch profiler is, by its name without the "aten::" or "mkldnn::" prefix.
OP_KINDS = {
    "matrix products": ("mm", "addmm", "addmm_", "bmm", "matmul", "linear", "baddbmm", "_mkldnn_matmul",
                        "_linear_pointwise"),
    # oneDNN's (torch.nn.LSTM on CPU) and ours (lstmlib.nn.native's C++ loops, recorded as lstmlib::native_*)
    "fused RNN kernel": ("mkldnn_rnn", "mkldnn_rnn_layer", "mkldnn_rnn_layer_backward", "_thnn_fused_lstm_cell",
                         "native_forward", "native_backward"),
    "pointwise": ("sigmoid", "sigmoid_", "tanh", "tanh_", "mul", "mul_", "add", "add_", "sub", "sub_", "addcmul",
                  "addcmul_", "sigmoid_backward", "tanh_backward", "div", "div_", "neg", "rsub", "where", "sum"),
}
#: The name of the time a profile finds outside every operation.
OUTSIDE = "outside operations"


def op_kind(name: str) -> str | None:
    """The kind (a key of :data:`OP_KINDS`, or "memory and other") of the profiler event ``name``.

    ATen (``aten::``) and oneDNN (``mkldnn::``) operations and lstmlib's C++
    loops (``lstmlib::``) have a kind; other events (an autograd Function's own
    record, the engine's bookkeeping) give None: their time is their children's.
    """
    prefix, _, op = name.partition("::")
    if prefix not in ("aten", "mkldnn", "lstmlib") or not op:
        return None
    for kind, ops in OP_KINDS.items():
        if op in ops:
            return kind
    return "memory and other"  # copies, views, allocation, fills


@dataclass(frozen=True)
class Profile:
    """One profiled run: ``wall`` seconds; ``seconds`` by kind of operation (and :data:`OUTSIDE`);
    ``calls``, the number of ATen and oneDNN operations it recorded (nested ones included)."""

    wall: float
    seconds: dict[str, float]
    calls: int


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null: torch 2.13's profiler logs a line to it at every start and stop."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def profile_by_kind(step, repeats: int = 5, warmup: int = 3) -> Profile:
    """Profile ``step()`` and split its time by kind of operation (the run with the smallest wall time of ``repeats``).

    The kinds are those of :data:`OP_KINDS`, "memory and other" (every other
    ATen or oneDNN operation), and :data:`OUTSIDE`: the wall time not spent
    inside any operation, which is the Python interpreter, argument parsing,
    the autograd engine's scheduling, and the profiler's own cost per call.
    (PyTorch's dispatch, shape checks and autograd-node creation happen after
    an operation's record starts, so they count inside it.)
    """
    from torch.profiler import ProfilerActivity, profile

    for _ in range(warmup):
        step()
    best = None
    for _ in range(repeats):
        with _stderr_silenced(), profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            step()
            wall = time.perf_counter() - start
        seconds = dict.fromkeys([*OP_KINDS, "memory and other"], 0.0)
        calls = 0
        for event in prof.key_averages():
            kind = op_kind(event.key)
            if kind is not None:
                seconds[kind] += event.self_cpu_time_total / 1e6
                calls += event.count
        seconds[OUTSIDE] = max(wall - sum(seconds.values()), 0.0)
        if best is None or wall < best.wall:
            best = Profile(wall, seconds, calls)
    return best
