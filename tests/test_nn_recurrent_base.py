"""RecurrentBase's own contract for a new cell type: settings it names are kept, others are refused."""

from __future__ import annotations

import pytest

from lstmlib.nn import ConvLSTM, RecurrentBase


class Plain(RecurrentBase):
    """A cell type with no __init__ of its own and no settings (parameters: the base's RNN-like four)."""


class WithWindow(RecurrentBase):
    """A cell type with one setting of its own, read by parameter_shapes."""

    setting_names = ("window",)

    def parameter_shapes(self, layer_input_size):
        return super().parameter_shapes(layer_input_size) | {"weight_window": (self.window,)}


def test_a_named_setting_is_stored_before_the_parameters_are_made():
    module = WithWindow(3, 4, window=5, num_layers=2)
    assert module.window == 5
    assert module.weight_window_l0.shape == (5,) and module.weight_window_l1.shape == (5,)


def test_a_misspelt_keyword_is_refused_not_stored():
    with pytest.raises(TypeError, match=r"Plain\(\) got unexpected keyword argument\(s\) bidirectonal; "
                                        r"its own settings are: none besides RecurrentBase's"):
        Plain(3, 4, bidirectonal=True)
    with pytest.raises(TypeError, match=r"WithWindow\(\) got unexpected keyword argument\(s\) windw; "
                                        r"its own settings are: window"):
        WithWindow(3, 4, windw=5)


def test_convlstm_names_its_settings():
    assert set(ConvLSTM.setting_names) == {"kernel_size", "peephole", "frame_size"}
    module = ConvLSTM(1, 2, 3, peephole=True, frame_size=(4, 4))
    assert module.kernel_size == (3, 3) and module.peephole and module.frame_size == (4, 4)
