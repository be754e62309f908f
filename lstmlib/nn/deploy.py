"""What deployment tools need from :mod:`lstmlib.nn`: safe loading, export, and a clear word on TorchScript.

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
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import torch
from torch import nn

__all__ = ["TorchScriptUnsupported", "NoTorchScript", "module_classes", "refuse_jit_trace", "register_safe_globals"]

_EXPORT_HINT = (
    "TorchScript is deprecated in torch 2.13 and lstmlib.nn does not support it; use torch.export.export(model, "
    "(x,)) for a deployable graph, torch.onnx.export(model, (x,), path, dynamo=True) for ONNX, or torch.compile(model) "
    "for speed"
)


class TorchScriptUnsupported(RuntimeError):
    """``torch.jit.script`` or ``torch.jit.trace`` was given an :mod:`lstmlib.nn` module."""


class NoTorchScript:
    """Mixin of every :mod:`lstmlib.nn` module: ``torch.jit.script`` raises :class:`TorchScriptUnsupported`.

    (``torch.jit.script`` calls ``__prepare_scriptable__`` on what it is given
    and on every submodule before compiling it.)
    """

    def __prepare_scriptable__(self) -> Any:
        raise TorchScriptUnsupported(f"torch.jit.script({type(self).__name__}): {_EXPORT_HINT}.")


def refuse_jit_trace(module: nn.Module) -> None:
    """Raise :class:`TorchScriptUnsupported` if ``torch.jit.trace`` is running ``module``'s forward.

    A trace would record the kernels' in-place steps without their backward and
    fail its own check, so it is stopped at once, with the way out.
    """
    if torch.jit.is_tracing():
        raise TorchScriptUnsupported(f"torch.jit.trace({type(module).__name__}): {_EXPORT_HINT}.")


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
