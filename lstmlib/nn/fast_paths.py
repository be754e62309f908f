"""Version-specific speed tricks of :mod:`lstmlib.nn`, in one place, behind one switch.

Every trick here computes what its plain PyTorch definition computes, up to
floating-point rounding; it only makes it faster on some machines and
PyTorch versions. The environment variable ``LSTMLIB_FAST_PATHS=0`` (read at
import) turns every one of them off; :func:`set_enabled` does the same at run
time, e.g. for a test that runs once with the fast paths and once without.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["disabled", "enabled", "set_enabled"]

_ENV_VAR = "LSTMLIB_FAST_PATHS"


def _from_environment() -> bool:
    value = os.environ.get(_ENV_VAR, "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{_ENV_VAR} must be 1 (fast paths on, the default) or 0 (off); got {value!r}")


_enabled = _from_environment()


def enabled() -> bool:
    """Whether the fast paths are in use (``LSTMLIB_FAST_PATHS``, or the last :func:`set_enabled`)."""
    return _enabled


def set_enabled(flag: bool) -> bool:
    """Turn every fast path on (True) or off (False); return the previous setting."""
    global _enabled
    if not isinstance(flag, bool):
        raise TypeError(f"flag must be a bool (True: fast paths on); got {type(flag).__name__} {flag!r}")
    previous, _enabled = _enabled, flag
    return previous


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """``with fast_paths.disabled():`` runs its body with every fast path off, then restores the setting."""
    previous = set_enabled(False)
    try:
        yield
    finally:
        set_enabled(previous)
