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

import torch

import lstmlib.nn as lnn
from lstmlib.benchmarking import cpu_name, cpu_pressure, make_step, sync, time_pair  # noqa: F401 (re-exported)

B, T, D = 32, 100, 64
HIDDEN_SIZES = (128, 512)
MODELS = {"LSTM": (torch.nn.LSTM, lnn.LSTM), "GRU": (torch.nn.GRU, lnn.GRU), "RNN": (torch.nn.RNN, lnn.RNN)}
VARIANTS = {"GRU": lnn.GRU, "PeepholeLSTM": lnn.PeepholeLSTM, "CoupledLSTM": lnn.CoupledLSTM}


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
