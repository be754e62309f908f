"""Time lstmlib.nn's recurrent layers against their peers in one run; print Markdown tables.

Table 1: each layer with a torch twin (LSTM, GRU, RNN) against torch.nn's.
Table 2: each variant (GRU, peephole LSTM, coupled-gate LSTM) against our own LSTM of the same
sizes: what choosing that cell costs or saves in this library.

    python benchmarks/bench_recurrent.py               # 1 thread and torch's default thread count
    python benchmarks/bench_recurrent.py --threads 2   # only 2 threads

Shapes: B=32, T=100, D=64, H in {128, 512}, float32; "forward" runs under
torch.no_grad(), "forward+backward" back-propagates output.sum(). Both modules
hold the same weights. Each measurement alternates torch and ours for a number
of rounds after a warm-up, so slow drifts of a shared machine hit both sides
alike, and reports the fastest round of each: on a machine shared with other
work, slower rounds measure the neighbours (the lower bound is what the code
costs, as the ``timeit`` documentation argues). CUDA is timed too when present.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import torch

import lstmlib.nn as lnn

B, T, D = 32, 100, 64
HIDDEN_SIZES = (128, 512)
MODELS = {"LSTM": (torch.nn.LSTM, lnn.LSTM), "GRU": (torch.nn.GRU, lnn.GRU), "RNN": (torch.nn.RNN, lnn.RNN)}
VARIANTS = {"GRU": lnn.GRU, "PeepholeLSTM": lnn.PeepholeLSTM, "CoupledLSTM": lnn.CoupledLSTM}


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


def time_against(peer: torch.nn.Module, module: torch.nn.Module, device: str, threads: int, name: str, H: int,
                  rounds: int) -> list[tuple]:
    """Rows ``(device, threads, name, H, pass, peer ms, module ms, module / peer)`` for both passes."""
    x = torch.randn(T, B, D, device=device)
    rows = []
    for backward in (False, True):
        n = min(rounds, max(5, rounds // 2)) if (H >= 512 and backward) else rounds
        t_peer, t_module = time_pair(make_step(peer, x, backward), make_step(module, x, backward), device, n)
        label = "forward+backward" if backward else "forward (no_grad)"
        rows.append((device, threads, name, H, label, t_peer * 1e3, t_module * 1e3, t_module / t_peer))
    return rows


def bench(device: str, threads: int, rounds: int) -> list[tuple]:
    """Table 1: ours against torch.nn's twin, holding the same weights."""
    rows = []
    for name, (theirs_cls, ours_cls) in MODELS.items():
        for H in HIDDEN_SIZES:
            torch.manual_seed(0)
            theirs = theirs_cls(D, H, device=device)
            ours = ours_cls(D, H, device=device)
            ours.load_state_dict(theirs.state_dict())
            rows += time_against(theirs, ours, device, threads, name, H, rounds)
    return rows


def bench_variants(device: str, threads: int, rounds: int) -> list[tuple]:
    """Table 2: each variant against lstmlib.nn.LSTM of the same D and H."""
    rows = []
    for name, variant_cls in VARIANTS.items():
        for H in HIDDEN_SIZES:
            torch.manual_seed(0)
            rows += time_against(lnn.LSTM(D, H, device=device), variant_cls(D, H, device=device),
                                 device, threads, name, H, rounds)
    return rows


def print_table(rows: list[tuple], peer: str, module: str, ratio: str) -> None:
    print(f"| device | threads | model | H | pass | {peer} (ms) | {module} (ms) | {ratio} |")
    print("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: |")
    for device, threads, name, H, label, t_peer, t_module, r in rows:
        print(f"| {device} | {threads} | {name} | {H} | {label} | {t_peer:.2f} | {t_module:.2f} | {r:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_threads = sorted({1, torch.get_num_threads()})
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads,
                        help="intra-op CPU thread counts to time, each set with torch.set_num_threads "
                             "(default: 1 and torch's default, %(default)s)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per measurement (default 15)")
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"date: {datetime.date.today().isoformat()}; torch {torch.__version__}; CPU: {cpu_name()}, "
          f"{torch.get_num_threads()} default threads of {os.cpu_count()} logical CPUs")
    if "cuda" in devices:
        print(f"GPU: {torch.cuda.get_device_name()}")
    print(f"B={B}, T={T}, D={D}, float32; fastest of {args.rounds} alternating rounds (fewer for the slowest)")
    print(f"CPU pressure before the run (time tasks waited for a CPU): {cpu_pressure()}\n")
    twins, variants = [], []
    for device in devices:
        for threads in (args.threads if device == "cpu" else [torch.get_num_threads()]):
            torch.set_num_threads(threads)
            print(f"timing on {device} with torch.set_num_threads({threads}) ...", flush=True)
            twins += bench(device, threads, args.rounds)
            variants += bench_variants(device, threads, args.rounds)
    print(f"\nCPU pressure after the run: {cpu_pressure()}\n")
    print("Against torch.nn's twin (same weights):\n")
    print_table(twins, "torch.nn", "lstmlib.nn", "ours / torch")
    print("\nEach variant against lstmlib.nn.LSTM (same D and H):\n")
    print_table(variants, "lstmlib.nn.LSTM", "variant", "variant / LSTM")


if __name__ == "__main__":
    main()
