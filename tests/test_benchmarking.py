"""The timing helpers every benchmark and the performance chapter share (no timing is asserted)."""

from __future__ import annotations

import torch

from lstmlib.benchmarking import cpu_name, cpu_pressure, make_step, time_pair


def test_cpu_name_names_the_flags_and_torchs_kernel_level():
    name = cpu_name()
    assert "flags:" in name and torch.backends.cpu.get_cpu_capability() in name


def test_cpu_pressure_is_a_percentage_or_not_available():
    text = cpu_pressure()
    assert text == "n/a" or ("% over the last 10 s" in text and "% over 60 s" in text)


def test_time_pair_runs_each_step_the_asked_number_of_times_and_returns_two_fastest_times():
    calls = {"a": 0, "b": 0}
    a, b = (lambda: calls.__setitem__("a", calls["a"] + 1)), (lambda: calls.__setitem__("b", calls["b"] + 1))
    ta, tb = time_pair(a, b, "cpu", rounds=4, warmup=2)
    assert calls == {"a": 6, "b": 6} and ta > 0 and tb > 0


def test_make_step_runs_forward_only_or_fills_every_gradient():
    lstm = torch.nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    make_step(lstm, x, backward=False)()
    assert all(p.grad is None for p in lstm.parameters())
    make_step(lstm, x, backward=True)()
    assert all(p.grad is not None for p in lstm.parameters())
