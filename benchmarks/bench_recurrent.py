"""Time lstmlib.nn's recurrent layers against their peers in one run; print Markdown tables.

Table 1: each layer with a torch twin (LSTM, GRU, RNN) against torch.nn's, holding the same weights,
         at every batch size and hidden size of the grid, forward (no_grad) and forward+backward,
         with each ratio's target and whether this run met it.
Table 2: each LSTM variant (peephole, coupled-gate) against our own LSTM of the same sizes.
Table 3: this machine's single-precision GEMM peak (a large square torch.mm) and the fraction of it
         that torch's and our LSTM reach at the largest sizes.

    python benchmarks/bench_recurrent.py                      # the whole grid, 1 thread and torch's default
    python benchmarks/bench_recurrent.py --threads 2 --hidden 64 512 --batch 32 --models LSTM

Shapes: T=100, D=64, float32, B in {1, 32}, H in {16, 32, 64, 128, 256, 512, 1024}. "forward" runs
under torch.no_grad(); "forward+backward" back-propagates output.sum() to every parameter (the input
needs no gradient). Each measurement alternates torch and ours after warm-up rounds, so slow drifts of a
shared machine hit both alike, and reports the fastest round of each (on a shared machine slower rounds
measure the neighbours); the number of rounds shrinks with the cost of a call (about 4 s per pair).
The header prints the CPU model and vector flags, and Linux's CPU pressure before and after the run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time

import torch

import lstmlib.nn as lnn
from lstmlib.benchmarking import cpu_name, cpu_pressure, make_step, sync, time_pair  # noqa: F401 (re-exported)
from lstmlib.nn import native

T, D = 100, 64
BATCH_SIZES = (1, 32)
HIDDEN_SIZES = (16, 32, 64, 128, 256, 512, 1024)
MODELS = {"LSTM": (torch.nn.LSTM, lnn.LSTM), "GRU": (torch.nn.GRU, lnn.GRU), "RNN": (torch.nn.RNN, lnn.RNN)}
VARIANTS = {"PeepholeLSTM": lnn.PeepholeLSTM, "CoupledLSTM": lnn.CoupledLSTM}
PASSES = {False: "forward (no_grad)", True: "forward+backward"}
# The targets of issue 12, as ratios: (model or "variant", backward) -> largest ratio that meets it
TARGETS = {("LSTM", False): 1.2, ("LSTM", True): 1.0, ("GRU", False): 1.0, ("GRU", True): 1.0,
           ("RNN", False): 1.0, ("RNN", True): 1.0, ("variant", False): 1.2, ("variant", True): 1.2}
SECONDS_PER_PAIR = 4.0


def rounds_for(step_a, step_b, device: str, most: int) -> int:
    """Rounds that fit about SECONDS_PER_PAIR for this pair (between 3 and ``most``), from one call of each."""
    sync(device)
    start = time.perf_counter()
    step_a(), step_b()
    sync(device)
    return max(3, min(most, int(SECONDS_PER_PAIR / max(time.perf_counter() - start, 1e-6))))


def time_against(peer, module, device: str, B: int, H: int, rounds: int, backward: bool) -> tuple[float, float]:
    """Fastest seconds of ``peer`` and ``module`` on the same input ``(T, B, D)``."""
    x = torch.randn(T, B, D, device=device)
    a, b = make_step(peer, x, backward), make_step(module, x, backward)
    return time_pair(a, b, device, rounds_for(a, b, device, rounds), warmup=2)


def bench_twins(device: str, threads: int, rounds: int, models, batches, hiddens) -> list[tuple]:
    """Table 1 rows: (device, threads, model, B, H, pass, torch ms, ours ms, ratio, target)."""
    rows = []
    for name in models:
        theirs_cls, ours_cls = MODELS[name]
        for B in batches:
            for H in hiddens:
                torch.manual_seed(0)
                theirs, ours = theirs_cls(D, H, device=device), ours_cls(D, H, device=device)
                ours.load_state_dict(theirs.state_dict())
                for backward, label in PASSES.items():
                    t_theirs, t_ours = time_against(theirs, ours, device, B, H, rounds, backward)
                    rows.append((device, threads, name, B, H, label, t_theirs * 1e3, t_ours * 1e3,
                                 t_ours / t_theirs, TARGETS[name, backward]))
                print(f"  {name} B={B} H={H}: {rows[-2][8]:.2f} / {rows[-1][8]:.2f}", flush=True)
    return rows


def bench_variants(device: str, threads: int, rounds: int, batches, hiddens) -> list[tuple]:
    """Table 2 rows: each variant against lstmlib.nn.LSTM of the same D and H."""
    rows = []
    for name, variant_cls in VARIANTS.items():
        for B in batches:
            for H in hiddens:
                torch.manual_seed(0)
                lstm, variant = lnn.LSTM(D, H, device=device), variant_cls(D, H, device=device)
                for backward, label in PASSES.items():
                    t_lstm, t_variant = time_against(lstm, variant, device, B, H, rounds, backward)
                    rows.append((device, threads, name, B, H, label, t_lstm * 1e3, t_variant * 1e3,
                                 t_variant / t_lstm, TARGETS["variant", backward]))
    return rows


def gemm_peak(threads: int, sizes=(512, 1024, 2048), repeats: int = 7) -> float:
    """This machine's single-precision GEMM rate, GFLOP/s: the fastest square float32 ``torch.mm`` of ``sizes``,
    each the fastest of ``repeats`` (the best this run saw: a busy machine lowers it)."""
    torch.set_num_threads(threads)
    best = 0.0
    for size in sizes:
        a, b = torch.randn(size, size), torch.randn(size, size)
        for _ in range(2):
            a @ b
        seconds = min(_timed(lambda: a @ b) for _ in range(repeats))
        best = max(best, 2 * size**3 / seconds / 1e9)
    return best


def _timed(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def lstm_flops(B: int, H: int, backward: bool) -> float:
    """Multiply-adds x 2 of an LSTM layer over T steps: the input and recurrent products; the backward adds
    dh (B x 4H x H per step), dW_hh and dW_ih (the input needs no gradient); pointwise work not counted."""
    forward = 2 * T * B * 4 * H * (D + H)
    return forward + (2 * T * B * 4 * H * (2 * H + D) if backward else 0)


def print_table(rows: list[tuple], peer: str, module: str, ratio: str) -> None:
    print(f"| device | threads | model | B | H | pass | {peer} (ms) | {module} (ms) | {ratio} | target | met |")
    print("| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for device, threads, name, B, H, label, t_peer, t_module, r, target in rows:
        met = "yes" if r <= target else "**no**"
        print(f"| {device} | {threads} | {name} | {B} | {H} | {label} | {t_peer:.3f} | {t_module:.3f} | {r:.2f} "
              f"| {target:.1f} | {met} |")


def print_peak_table(rows: list[tuple], peaks: dict[int, float]) -> None:
    print("| threads | GEMM peak (GFLOP/s) | B | H | pass | GFLOP | torch GFLOP/s | torch % of peak "
          "| ours GFLOP/s | ours % of peak |")
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for device, threads, name, B, H, label, t_theirs, t_ours, _, _ in rows:
        if device != "cpu" or name != "LSTM" or B != max(BATCH_SIZES) or H < 512:
            continue
        flops = lstm_flops(B, H, label == PASSES[True])
        peak = peaks[threads]
        rate_theirs, rate_ours = flops / t_theirs / 1e6, flops / t_ours / 1e6
        print(f"| {threads} | {peak:.0f} | {B} | {H} | {label} | {flops / 1e9:.2f} | {rate_theirs:.0f} "
              f"| {100 * rate_theirs / peak:.0f}% | {rate_ours:.0f} | {100 * rate_ours / peak:.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_threads = sorted({1, torch.get_num_threads()})
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads,
                        help="intra-op CPU thread counts to time, each set with torch.set_num_threads "
                             "(default: 1 and torch's default, %(default)s)")
    parser.add_argument("--rounds", type=int, default=15, help="most timed rounds per measurement (default 15)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batch", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--hidden", type=int, nargs="+", default=list(HIDDEN_SIZES))
    parser.add_argument("--no-variants", action="store_true", help="skip table 2")
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"date: {datetime.date.today().isoformat()}; torch {torch.__version__}; CPU: {cpu_name()}, "
          f"{torch.get_num_threads()} default threads of {os.cpu_count()} logical CPUs")
    if "cuda" in devices:
        print(f"GPU: {torch.cuda.get_device_name()}")
    path = "C++ loops (lstmlib.nn.native)" if native.usable(torch.zeros(1)) else "Python loops (no C++ build)"
    print(f"T={T}, D={D}, float32; lstmlib.nn's CPU time loops: {path}; fastest of up to {args.rounds} "
          f"alternating rounds (fewer for slow calls)")
    print(f"CPU pressure before the run (time tasks waited for a CPU): {cpu_pressure()}\n")
    twins, variants, peaks = [], [], {}
    for device in devices:
        for threads in (args.threads if device == "cpu" else [torch.get_num_threads()]):
            if device == "cpu":
                peaks[threads] = gemm_peak(threads)
            torch.set_num_threads(threads)
            print(f"timing on {device} with torch.set_num_threads({threads}) ...", flush=True)
            twins += bench_twins(device, threads, args.rounds, args.models, args.batch, args.hidden)
            if not args.no_variants:
                variants += bench_variants(device, threads, args.rounds, args.batch, args.hidden)
    print(f"\nCPU pressure after the run: {cpu_pressure()}\n")
    print("Against torch.nn's twin (same weights):\n")
    print_table(twins, "torch.nn", "lstmlib.nn", "ours / torch")
    if variants:
        print("\nEach variant against lstmlib.nn.LSTM (same B, D and H):\n")
        print_table(variants, "lstmlib.nn.LSTM", "variant", "variant / LSTM")
    print("\nThe LSTM's arithmetic rate against this machine's GEMM peak (the fastest square float32 torch.mm of "
          "512, 1024 and 2048):\n")
    print_peak_table(twins, peaks)
    missed = [row for row in twins + variants if row[8] > row[9]]
    print(f"\n{len(twins) + len(variants) - len(missed)} of {len(twins) + len(variants)} ratios within their "
          f"targets in this run.")


if __name__ == "__main__":
    main()
