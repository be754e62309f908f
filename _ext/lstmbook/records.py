"""What ``make notebooks`` recorded in a chapter's metadata, and how the book words it.

``scripts/execute_notebooks.py`` writes ``metadata.lstmbook`` into every chapter it runs:
``execution_seconds``, ``executed_at`` (UTC, ISO 8601), ``status`` (``"ok"`` or ``"error"``,
with ``error``), and ``environment`` (versions and torch threads, as the kernel reported them).
A chapter executed by an older version of the script has only some of these; a missing field
reads "not recorded", never a guess.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

NOT_RECORDED = "not recorded"


def execution_record(notebook: Path) -> dict:
    """The ``lstmbook`` metadata of ``notebook`` (empty if it has none)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return dict(nb.get("metadata", {}).get("lstmbook", {}))


def seconds_text(record: dict) -> str:
    """The wall time, e.g. ``"10.1 s"``."""
    seconds = record.get("execution_seconds")
    return NOT_RECORDED if seconds is None else f"{seconds:.1f} s"


def date_text(record: dict) -> str:
    """The day the run started, in UTC, e.g. ``"2026-11-25"``."""
    stamp = record.get("executed_at")
    if stamp is None:
        return NOT_RECORDED
    return datetime.fromisoformat(stamp).astimezone(UTC).date().isoformat()


def status_text(record: dict) -> str:
    """What the run reported: no error, the error, or nothing."""
    status = record.get("status")
    if status == "ok":
        return "executed without error"
    if status == "error":
        return f"raised {record.get('error', 'an error')}"
    return NOT_RECORDED


def environment_text(record: dict) -> str:
    """The kernel's versions and thread count in words, e.g. ``"Python 3.11.7, ..., 1 torch thread"``."""
    env = record.get("environment")
    if not env:
        return NOT_RECORDED
    threads = env["torch_threads"]
    return (f"Python {env['python']}, NumPy {env['numpy']}, torch {env['torch']}, "
            f"lstmlib {env['lstmlib']}, {threads} torch thread{'s' if threads != 1 else ''}")
