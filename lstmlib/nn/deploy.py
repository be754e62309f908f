"""What deployment tools need from :mod:`lstmlib.nn`: safe loading, export, torch twins, a clear word on TorchScript.

* :func:`register_safe_globals` -- run when :mod:`lstmlib.nn` is imported: every
  module class of the package becomes a safe global of ``torch.serialization``,
  so a whole saved model (``torch.save(model, path)``) loads with ``torch.load(path)``
  and its default ``weights_only=True``. (Load only files you trust: a safe global
  is trusted to rebuild itself from the file.)
* ``torch.export.export``, ``torch.onnx.export(..., dynamo=True)`` and
  ``torch.compile`` trace a plain, differentiable step-by-step path
  (:meth:`RecurrentBase.run_layer_by_steps <lstmlib.nn.RecurrentBase.run_layer_by_steps>`;
  :func:`lstmlib.nn.fast_paths.tracing` says when).
* TorchScript (``torch.jit.script``, ``torch.jit.trace``) is deprecated in torch 2.13 and
  not supported: :class:`TorchScriptUnsupported` says so and points to ``torch.export``.
* :class:`TorchInterop` -- ``LSTM``, ``GRU``, ``RNN`` and their cells are not subclasses of
  their ``torch.nn`` twins (``isinstance(m, torch.nn.LSTM)`` is False, so torch tools that
  dispatch on the class, e.g. ``torch.ao.quantization.quantize_dynamic``, pass them by):
  ``m.to_torch()`` / ``LSTM.from_torch(t)`` convert, weights copied, outputs equal, and
  :func:`to_torch_modules` converts every such module inside a model.
"""

from __future__ import annotations

import copy
import inspect
import sys
from typing import Any

import torch
from torch import nn

__all__ = ["TorchInterop", "TorchScriptUnsupported", "module_classes", "refuse_jit_trace", "register_safe_globals",
           "to_torch_modules"]

_EXPORT_HINT = (
    "TorchScript is deprecated in torch 2.13 and lstmlib.nn does not support it; use torch.export.export(model, "
    "(x,)) for a deployable graph, torch.onnx.export(model, (x,), path, dynamo=True) for ONNX, or torch.compile(model) "
    "for speed"
)


class TorchScriptUnsupported(RuntimeError):
    """``torch.jit.script`` or ``torch.jit.trace`` was given an :mod:`lstmlib.nn` module."""


class TorchInterop:
    """Mixin of every :mod:`lstmlib.nn` module: conversion to and from its ``torch.nn`` twin; no TorchScript.

    A class with a twin names it in ``torch_twin`` and lists in ``twin_arguments``
    the constructor arguments both classes share, as attributes of the same names.
    ``torch.jit.script`` calls ``__prepare_scriptable__`` on what it is given and
    on every submodule: here it raises :class:`TorchScriptUnsupported`.
    """

    torch_twin: type[nn.Module] | None = None  # the torch.nn class this module is a drop-in for
    twin_arguments: tuple[str, ...] = ()

    def __prepare_scriptable__(self) -> Any:
        raise TorchScriptUnsupported(f"torch.jit.script({type(self).__name__}): {_EXPORT_HINT}.")

    @classmethod
    def _require_twin(cls) -> type[nn.Module]:
        if cls.torch_twin is None:
            raise TypeError(f"{cls.__name__} has no torch.nn twin to convert to or from; those that do: "
                            "LSTM, GRU, RNN, LSTMCell, GRUCell, RNNCell")
        return cls.torch_twin

    def to_torch(self) -> nn.Module:
        """This module as its ``torch.nn`` twin: same arguments, a copy of the weights, same train/eval mode.

        Its outputs equal this module's up to floating-point rounding (the
        contract suite checks the twins against each other); it is a real
        ``torch.nn.LSTM`` (``GRU``, ...), so torch tools that look for that class find it.
        """
        twin_class = self._require_twin()
        weight = next(self.parameters())  # type: ignore[attr-defined]
        arguments = {name: getattr(self, name) for name in self.twin_arguments}
        twin = twin_class(**arguments, device=weight.device, dtype=weight.dtype)
        twin.load_state_dict(self.state_dict())  # type: ignore[attr-defined]
        return twin.train(self.training)  # type: ignore[attr-defined]

    @classmethod
    def from_torch(cls, module: nn.Module) -> Any:
        """The :mod:`lstmlib.nn` module equal to ``module``, an instance of ``torch_twin``: weights copied.

        Raises ``TypeError`` for a module of another class, and the constructor's
        own error for settings this library does not support (``proj_size > 0``).
        """
        twin_class = cls._require_twin()
        if not isinstance(module, twin_class):
            raise TypeError(f"module must be a {twin_class.__module__}.{twin_class.__name__} to convert to "
                            f"lstmlib.nn.{cls.__name__}; got {type(module).__name__}")
        weight = next(module.parameters())
        arguments = {name: getattr(module, name) for name in cls.twin_arguments}
        ours = cls(**arguments, device=weight.device, dtype=weight.dtype)
        ours.load_state_dict(module.state_dict())
        return ours.train(module.training)


def refuse_jit_trace(module: nn.Module) -> None:
    """Raise :class:`TorchScriptUnsupported` if ``torch.jit.trace`` is running ``module``'s forward.

    A trace would record the kernels' in-place steps without their backward and
    fail its own check, so it is stopped at once, with the way out.
    """
    if torch.jit.is_tracing():
        raise TorchScriptUnsupported(f"torch.jit.trace({type(module).__name__}): {_EXPORT_HINT}.")


def to_torch_modules(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every :mod:`lstmlib.nn` module that has a ``torch.nn`` twin replaced by the twin.

    For torch tools that act on ``torch.nn.LSTM`` (``GRU``, ...) by class, e.g.
    ``quantize_dynamic(to_torch_modules(model), {nn.LSTM, nn.Linear})``. ``model``
    itself is left as it is; a model that is itself such a module is converted whole.
    """
    if isinstance(model, TorchInterop) and model.torch_twin is not None:
        return model.to_torch()
    converted = copy.deepcopy(model)
    for name, child in list(converted.named_modules()):
        if isinstance(child, TorchInterop) and child.torch_twin is not None:
            parent_name, _, attribute = name.rpartition(".")
            setattr(converted.get_submodule(parent_name), attribute, child.to_torch())
    return converted


def module_classes() -> list[type[nn.Module]]:
    """Every ``nn.Module`` class defined in the :mod:`lstmlib.nn` package, sorted by qualified name."""
    found = {}
    for name, module in list(sys.modules.items()):
        if name == "lstmlib.nn" or name.startswith("lstmlib.nn."):
            for cls in vars(module).values():
                if inspect.isclass(cls) and issubclass(cls, nn.Module) and cls.__module__.startswith("lstmlib.nn"):
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def register_safe_globals() -> list[type[nn.Module]]:
    """Make every :mod:`lstmlib.nn` module class a safe global of ``torch.load(..., weights_only=True)``.

    A pickled module names its class and holds plain containers, numbers,
    strings and tensors (which ``weights_only`` loading already allows), so its
    class is all that has to be added. Returns the classes registered.
    """
    classes = module_classes()
    torch.serialization.add_safe_globals(classes)
    return classes
