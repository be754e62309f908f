"""Time lstmlib.nn.ConvLSTM against a straightforward per-step ConvLSTM; print a Markdown table.

    python benchmarks/bench_convlstm.py               # 1 thread and torch's default thread count
    python benchmarks/bench_convlstm.py --threads 1   # one thread only

The per-step baseline is the pattern of most ConvLSTM tutorials: at every step
concatenate ``[x_t, h_{t-1}]`` on the channels and run one convolution to the
four gates. lstmlib.nn.ConvLSTM instead convolves the inputs of all T steps at
once (one convolution over T·B frames), runs only ``W_hh * h_{t-1}`` in the
loop, and back-propagates with a hand-written backward (one weight gradient
over all steps for each of W_ih and W_hh). Both hold the same weights and
their outputs are checked to agree before timing.

Shapes like a moving-digits clip: B=16, T=10, C=1, 32x32 frames, Hc in {16, 64},
kernel 3 and 5, float32. Timing as in bench_recurrent.py (whose helpers this
imports): fastest of alternating rounds after a warm-up.
"""

from __future__ import annotations

import argparse
import datetime
import os

import torch
from torch import nn

import lstmlib.nn as lnn
from lstmlib.benchmarking import cpu_name, cpu_pressure, make_step, time_pair

B, T, C, FRAME = 16, 10, 1, (32, 32)
HIDDEN_CHANNELS = (16, 64)
KERNEL_SIZES = (3, 5)


class PerStepConvLSTM(nn.Module):
    """The tutorial ConvLSTM: one convolution of ``[x_t, h_{t-1}]`` per step, autograd for the backward."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int, device=None) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.conv = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size,
                              padding=kernel_size // 2, device=device)

    def load_from(self, convlstm: lnn.ConvLSTM) -> PerStepConvLSTM:
        """Copy a one-layer ConvLSTM's weights: W = [W_ih, W_hh] on the input channels, b = b_ih + b_hh."""
        with torch.no_grad():
            self.conv.weight.copy_(torch.cat([convlstm.weight_ih_l0, convlstm.weight_hh_l0], dim=1))
            self.conv.bias.copy_(convlstm.bias_ih_l0 + convlstm.bias_hh_l0)
        return self

    def forward(self, x: torch.Tensor):
        """``x: (T, B, C, H, W)`` -> ``(y: (T, B, Hc, H, W), (h_T, c_T))``."""
        h = x.new_zeros((x.shape[1], self.hidden_channels, *x.shape[3:]))
        c = h
        outputs = []
        for x_t in x:
            i, f, g, o = self.conv(torch.cat([x_t, h], dim=1)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs), (h, c)


def bench(device: str, threads: int, rounds: int) -> list[tuple]:
    rows = []
    for Hc in HIDDEN_CHANNELS:
        for k in KERNEL_SIZES:
            torch.manual_seed(0)
            ours = lnn.ConvLSTM(C, Hc, k, device=device)
            theirs = PerStepConvLSTM(C, Hc, k, device=device).load_from(ours)
            x = torch.randn(T, B, C, *FRAME, device=device)
            with torch.no_grad():
                gap = (ours(x)[0] - theirs(x)[0]).abs().max().item()
            if gap > 1e-4:
                raise RuntimeError(f"the two implementations disagree (max difference {gap:.2e}): not timing them")
            for backward in (False, True):
                slow = Hc >= 64 and (k >= 5 or backward)
                n = max(3, rounds // 2) if slow else rounds
                t_theirs, t_ours = time_pair(make_step(theirs, x, backward), make_step(ours, x, backward), device, n,
                                             warmup=1 if slow else 2)
                label = "forward+backward" if backward else "forward (no_grad)"
                rows.append((device, threads, Hc, k, label, t_theirs * 1e3, t_ours * 1e3, t_ours / t_theirs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_threads = sorted({1, torch.get_num_threads()})
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads,
                        help="intra-op CPU thread counts to time (default: 1 and torch's default, %(default)s)")
    parser.add_argument("--rounds", type=int, default=9,
                        help="timed rounds per measurement (default 9; half for the slowest cases)")
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"date: {datetime.date.today().isoformat()}; torch {torch.__version__}; CPU: {cpu_name()}, "
          f"{torch.get_num_threads()} default threads of {os.cpu_count()} logical CPUs")
    if "cuda" in devices:
        print(f"GPU: {torch.cuda.get_device_name()}")
    print(f"B={B}, T={T}, C={C}, frames {FRAME[0]}x{FRAME[1]}, float32; fastest of {args.rounds} alternating rounds "
          "(fewer for the slowest cases)")
    print(f"CPU pressure before the run (time tasks waited for a CPU): {cpu_pressure()}\n")
    rows = []
    for device in devices:
        for threads in (args.threads if device == "cpu" else [torch.get_num_threads()]):
            torch.set_num_threads(threads)
            print(f"timing on {device} with torch.set_num_threads({threads}) ...", flush=True)
            rows += bench(device, threads, args.rounds)
    print(f"\nCPU pressure after the run: {cpu_pressure()}\n")
    print("| device | threads | Hc | kernel | pass | per-step (ms) | lstmlib.nn.ConvLSTM (ms) | ours / per-step |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for device, threads, Hc, k, label, t_theirs, t_ours, ratio in rows:
        print(f"| {device} | {threads} | {Hc} | {k}x{k} | {label} | {t_theirs:.1f} | {t_ours:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
