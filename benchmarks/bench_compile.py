"""What ``torch.compile`` (inductor) buys for ``lstmlib.nn.LSTM``: compile time, and eager / compiled time.

Under ``torch.compile`` our layers run their plain step-by-step path (see
``lstmlib.nn.fast_paths.tracing``), which inductor unrolls over time and fuses;
eager runs the fast kernels. Shapes: T=35 steps, B=32, D=H=128, one layer,
float32, one thread. Each time is the fastest of 15 rounds after 3 warm-up
rounds, eager and compiled alternating (``bench_recurrent.time_pair``). Not
part of ``make bench``: compiling takes minutes on a small machine.

    .venv/bin/python benchmarks/bench_compile.py
"""

from __future__ import annotations

import time

import torch

import lstmlib.nn as lnn
from lstmlib.benchmarking import cpu_name, cpu_pressure, make_step, time_pair

T, B, H = 35, 32, 128


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}; {cpu_name()}; 1 thread; CPU pressure before: {cpu_pressure()}")
    module, x = lnn.LSTM(H, H), torch.randn(T, B, H)
    for name, backward in (("forward (no_grad)", False), ("forward+backward", True)):
        torch._dynamo.reset()
        compiled = torch.compile(module)
        eager_step, compiled_step = make_step(module, x, backward), make_step(compiled, x, backward)
        start = time.perf_counter()
        compiled_step()  # the first call compiles
        compile_s = time.perf_counter() - start
        eager, fast = time_pair(eager_step, compiled_step, "cpu", rounds=15)
        print(f"{name:18s} compile {compile_s:6.1f} s; eager {eager * 1e3:7.2f} ms, compiled {fast * 1e3:7.2f} ms: "
              f"speed-up {eager / fast:.2f}x")
    print(f"CPU pressure after: {cpu_pressure()}")


if __name__ == "__main__":
    main()
