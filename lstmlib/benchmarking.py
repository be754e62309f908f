"""Timing helpers shared by ``benchmarks/`` and the performance chapter: what machine, how busy, how fast.

Every speed claim in the book is a ratio of two codes timed in the same run
on the same machine, printed beside the machine's CPU model and vector flags
(the same code has measured 1.35x and 2.2x of torch on two AVX-512 EPYCs).

* :func:`cpu_name` -- the CPU model, its vector-instruction flags and torch's CPU kernel level.
* :func:`cpu_pressure` -- Linux's share of recent time in which tasks waited for a CPU.
* :func:`time_pair` -- the fastest time of two steps, measured alternately.
* :func:`make_step` -- a forward (no_grad) or forward+backward step of a recurrent module.
"""

from __future__ import annotations

import platform
import time

import torch

__all__ = ["VECTOR_FLAGS", "cpu_name", "cpu_pressure", "make_step", "sync", "time_pair"]


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
