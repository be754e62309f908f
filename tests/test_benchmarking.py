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


def test_op_kind_sorts_aten_operations_and_skips_other_records():
    from lstmlib.benchmarking import op_kind

    assert op_kind("aten::addmm") == "matrix products" and op_kind("aten::sigmoid") == "pointwise"
    assert op_kind("aten::mkldnn_rnn_layer_backward") == "fused RNN kernel"
    assert op_kind("aten::copy_") == "memory and other" and op_kind("LSTMSequenceBackward") is None
    assert op_kind("mkldnn::_linear_pointwise") == "matrix products"  # the oneDNN step product (H >= 182)
    assert op_kind("aten::sigmoid_") == "pointwise"
    assert op_kind("lstmlib::native_forward") == op_kind("lstmlib::native_backward") == "fused RNN kernel"


def test_profile_by_kind_splits_the_wall_time_and_sees_the_fused_loops(capfd):
    import lstmlib.nn
    from lstmlib.benchmarking import OUTSIDE, profile_by_kind
    from lstmlib.nn import fast_paths, native

    torch.manual_seed(0)
    x = torch.randn(6, 2, 4)
    ours, theirs = lstmlib.nn.LSTM(4, 5), torch.nn.LSTM(4, 5)
    with fast_paths.disabled():  # the Python loops: each step's operations, one by one
        mine = profile_by_kind(make_step(ours, x, backward=True), repeats=2, warmup=1)
    split = mine.seconds
    assert split["matrix products"] > 0 and split["pointwise"] > 0 and split["fused RNN kernel"] == 0
    assert abs(sum(split.values()) - mine.wall) < 1e-9 or split[OUTSIDE] == 0
    torchs = profile_by_kind(make_step(theirs, x, backward=True), repeats=2, warmup=1)
    assert torchs.seconds["fused RNN kernel"] > 0 and torchs.seconds["matrix products"] == 0
    assert mine.calls > 6 * torchs.calls  # ours issues each step's operations; torch's kernel loops inside
    if native.usable(x):  # the C++ loops: one record per layer and pass, filed with torch's fused kernel
        fused = profile_by_kind(make_step(ours, x, backward=True), repeats=2, warmup=1)
        assert fused.seconds["fused RNN kernel"] > 0 and fused.calls < mine.calls / 3
    assert "profiler_start" not in capfd.readouterr().err  # the profiler's log lines are silenced
