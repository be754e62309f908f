"""Measure each trick of lstmlib.nn.fast_paths against its plain PyTorch twin; print Markdown tables.

    python benchmarks/bench_fast_paths.py                 # all three
    python benchmarks/bench_fast_paths.py tanh conv       # some of them

* tanh: ``torch.tanh`` against ``2 sigmoid(2a) - 1`` into a given buffer, in
  float32 and float64, with the largest absolute error of each against the
  float64 tanh; and an LSTM step's gates (a sigmoid on every block, tanh on g)
  against one sigmoid with g's block doubled.
* onednn: a time step's product ``xw_t + h W_hh^T`` by ``addmm`` against
  oneDNN's linear with a pre-packed weight (B=32).
* conv: ConvLSTM's backward convolution gradients, ``torch.ops.aten.convolution_backward``
  (one call for input, weight and bias) against the public ``torch.nn.grad.conv2d_input``,
  ``conv2d_weight`` and a sum for the bias, at the sizes of bench_convlstm.py and
  chapter II.3 (B=16, T=10, 20x20 and 32x32 frames, Hc 16 and 64, kernels 3 and 5).

One thread. The two sides of each row alternate over many rounds (order
flipped every round) and each reports its median: the machine these numbers
are taken on is usually shared. The decisions, with these numbers, are written
next to each trick in lstmlib/nn/fast_paths.py.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import grad as conv_grad

from lstmlib.benchmarking import cpu_name, cpu_pressure


def median_pair(step_a, step_b, rounds: int, calls: int) -> tuple[float, float]:
    """Median seconds per call of ``step_a`` and ``step_b``, measured alternately."""
    for _ in range(3):
        step_a(), step_b()
    times: tuple[list[float], list[float]] = ([], [])
    for r in range(rounds):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            step = (step_a, step_b)[k]
            start = time.perf_counter()
            for _ in range(calls):
                step()
            times[k].append((time.perf_counter() - start) / calls)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_tanh() -> None:
    print("tanh(a) into a buffer (median us per call):\n")
    print("| dtype | shape | torch.tanh | 2 sigmoid(2a) - 1 | ratio | max error vs float64 tanh: plain / trick |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for dtype in (torch.float32, torch.float64):
        for shape in ((32, 128), (32, 512), (64, 2048), (16, 64, 32, 32)):
            a = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype) * 3
            out, minus_one = torch.empty_like(a), torch.tensor(-1.0, dtype=dtype)

            def plain():
                torch.tanh(a, out=out)

            def trick():
                torch.mul(a, 2, out=out).sigmoid_()
                torch.add(minus_one, out, alpha=2, out=out)

            t_plain, t_trick = median_pair(plain, trick, rounds=31, calls=max(1, 200_000 // a.numel()))
            exact = torch.tanh(a.double())
            trick()
            err_trick, err_plain = ((v.double() - exact).abs().max().item() for v in (out, torch.tanh(a)))
            print(f"| {str(dtype)[6:]} | {shape} | {t_plain * 1e6:.1f} | {t_trick * 1e6:.1f} | "
                  f"{t_trick / t_plain:.2f} | {err_plain:.1e} / {err_trick:.1e} |", flush=True)
    print("\nAn LSTM step's gates (B, 4H): sigmoid + tanh(g) against one sigmoid (median us per call):\n")
    print("| dtype | B, H | plain | via sigmoid | ratio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for dtype in (torch.float32, torch.float64):
        for B, H in ((32, 128), (32, 512), (16, 1024)):
            gates = torch.randn((B, 4 * H), generator=torch.Generator().manual_seed(0), dtype=dtype)
            out, g, minus_one = torch.empty_like(gates), slice(2 * H, 3 * H), torch.tensor(-1.0, dtype=dtype)

            def plain():
                torch.sigmoid(gates, out=out)
                torch.tanh(gates[:, g], out=out[:, g])

            def trick():
                gates[:, g].mul_(2)
                torch.sigmoid(gates, out=out)
                torch.add(minus_one, out[:, g], alpha=2, out=out[:, g])
                gates[:, g].mul_(0.5)  # undone, so that every call sees the same values (its cost is counted)

            t_plain, t_trick = median_pair(plain, trick, rounds=31, calls=max(1, 100_000 // gates.numel()))
            print(f"| {str(dtype)[6:]} | {B}, {H} | {t_plain * 1e6:.1f} | {t_trick * 1e6:.1f} | "
                  f"{t_trick / t_plain:.2f} |", flush=True)


def bench_onednn() -> None:
    print("\nA time step's product xw_t + h W^T, B=32, float32 (median us per call):\n")
    print("| H | addmm | oneDNN pre-packed | ratio | max difference |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    B = 32
    for H in (64, 128, 256, 512):
        gen = torch.Generator().manual_seed(0)
        weight, h, xw = (torch.randn(4 * H, H, generator=gen), torch.randn(B, H, generator=gen),
                         torch.randn(B, 4 * H, generator=gen))
        weight_t, packed = weight.t(), torch.ops.mkldnn._reorder_linear_weight(weight, B)

        def plain():
            return torch.addmm(xw, h, weight_t)

        def fast():
            return torch.ops.mkldnn._linear_pointwise.binary(h, xw, packed, None, "add")

        t_plain, t_fast = median_pair(plain, fast, rounds=31, calls=max(1, 20_000 // H))
        print(f"| {H} | {t_plain * 1e6:.1f} | {t_fast * 1e6:.1f} | {t_fast / t_plain:.2f} | "
              f"{(plain() - fast()).abs().max().item():.1e} |", flush=True)


def bench_conv() -> None:
    print("\nConvLSTM backward's convolution gradients over T*B = 160 frames, float32 (median ms per call):\n")
    print("| frame | Hc | kernel | gradients | aten, one call | public | public / aten | max rel. difference |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    N, C = 16 * 10, 1
    for frame in (20, 32):
        for Hc in (16, 64):
            for k in (3, 5):
                gen = torch.Generator().manual_seed(0)
                p = k // 2
                x, h = torch.randn(N, C, frame, frame, generator=gen), torch.randn(N, Hc, frame, frame, generator=gen)
                w_ih, w_hh = torch.randn(4 * Hc, C, k, k, generator=gen), torch.randn(4 * Hc, Hc, k, k, generator=gen)
                dz = torch.randn(N, 4 * Hc, frame, frame, generator=gen)

                def aten(inp, weight, needs):
                    return lambda: torch.ops.aten.convolution_backward(
                        dz, inp, weight, [4 * Hc], [1, 1], [p, p], [1, 1], False, [0, 0], 1, list(needs))

                def public(inp, weight, needs):
                    return lambda: (
                        conv_grad.conv2d_input(inp.shape, weight, dz, padding=p) if needs[0] else None,
                        conv_grad.conv2d_weight(inp, weight.shape, dz, padding=p) if needs[1] else None,
                        dz.sum((0, 2, 3)) if needs[2] else None)

                cases = (("W_ih: dx, dW, db (layer > 0)", x, w_ih, (True, True, True)),
                         ("W_ih: dW, db (layer 0)", x, w_ih, (False, True, True)),
                         ("W_hh: dW", h, w_hh, (False, True, False)))
                for label, inp, weight, needs in cases:
                    fast, plain = aten(inp, weight, needs), public(inp, weight, needs)
                    diff = max(((a - b).abs().max() / b.abs().max()).item()
                               for a, b in zip(fast(), plain()) if b is not None)
                    t_fast, t_plain = median_pair(fast, plain, rounds=15 if Hc == 64 else 31, calls=1)
                    print(f"| {frame}x{frame} | {Hc} | {k}x{k} | {label} | {t_fast * 1e3:.2f} | "
                          f"{t_plain * 1e3:.2f} | {t_plain / t_fast:.2f} | {diff:.0e} |", flush=True)


BENCHES = {"tanh": bench_tanh, "onednn": bench_onednn, "conv": bench_conv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="*", help=f"which tricks to time, of {', '.join(BENCHES)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.which if name not in BENCHES]
    if unknown:
        parser.error(f"unknown trick(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}; CPU: {cpu_name()}; one thread; "
          f"CPU pressure (time tasks waited for a CPU): {cpu_pressure()}\n")
    for name in args.which or BENCHES:
        BENCHES[name]()
    print(f"\nCPU pressure after the run: {cpu_pressure()}")


if __name__ == "__main__":
    main()
