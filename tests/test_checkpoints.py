"""The shipped checkpoints: every file has a manifest entry whose sha256 and metrics still hold.

The metrics are re-measured here with the ``measure`` function of the script
that made the file (the script the manifest names), on the data the manifest
names, and must agree within the tolerance the manifest states.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from book_files import ROOT

from lstmlib import pretrained

MANIFEST = pretrained.read_manifest()
FILES = sorted(p.name for p in pretrained.CHECKPOINTS_DIR.iterdir() if p.suffix == ".pt")


def script_module(script: str):
    """The training script ``script`` (a path relative to the repository) imported as a module."""
    spec = importlib.util.spec_from_file_location(f"checkpoint_script_{Path(script).stem}", ROOT / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the scripts only train under `if __name__ == "__main__"`
    return module


def test_every_checkpoint_file_has_exactly_one_manifest_entry():
    assert FILES and sorted(MANIFEST) == FILES


@pytest.mark.parametrize("filename", FILES)
def test_the_manifest_entry_describes_the_file(filename):
    entry = MANIFEST[filename]
    path = pretrained.CHECKPOINTS_DIR / filename
    assert entry["sha256"] == pretrained.file_sha256(path) and entry["bytes"] == path.stat().st_size
    assert entry["bytes"] < 2 * 2**20  # small enough to commit
    assert (ROOT / entry["script"]).is_file() and entry["command"].startswith(f"python {entry['script']}")
    assert entry["trained_on"] == "unknown" or datetime.date.fromisoformat(entry["trained_on"])
    assert entry["cpu_minutes"] is None or entry["cpu_minutes"] > 0
    assert entry["metrics"]
    for metric in entry["metrics"].values():
        assert set(metric) == {"value", "data", "tolerance", "measured_on"} and 0 < metric["tolerance"] < 0.05
        datetime.date.fromisoformat(metric["measured_on"])


@pytest.mark.parametrize("filename", FILES)
def test_the_checkpoint_still_scores_what_the_manifest_says(filename):
    entry = MANIFEST[filename]
    measured = script_module(entry["script"]).measure(pretrained.load_checkpoint(filename))
    assert set(measured) == set(entry["metrics"])
    for name, metric in entry["metrics"].items():
        assert measured[name] == pytest.approx(metric["value"], abs=metric["tolerance"]), name


@pytest.fixture
def scratch_checkpoints(tmp_path, monkeypatch):
    """A copy of the checkpoints folder that the loader and the manifest writer use instead."""
    folder = tmp_path / "checkpoints"
    shutil.copytree(pretrained.CHECKPOINTS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(pretrained, "CHECKPOINTS_DIR", folder)
    monkeypatch.setattr(pretrained, "MANIFEST", folder / "manifest.json")
    return folder


def test_the_loader_refuses_a_changed_file(scratch_checkpoints):
    filename = FILES[0]
    data = bytearray((scratch_checkpoints / filename).read_bytes())
    data[-100] ^= 1  # one bit of one weight
    (scratch_checkpoints / filename).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"checkpoint {filename} must have the sha256 its manifest entry records"):
        pretrained.load_checkpoint(filename)


@pytest.mark.parametrize("filename, error, match", [
    ("missing.pt", ValueError, r"filename must be one of .*'charlm_shakespeare.pt'.*; got 'missing.pt'"),
    (3, TypeError, r"filename must be a str such as 'charlm_shakespeare.pt'; got int"),
])
def test_the_loader_rejects_a_file_without_manifest_entry(filename, error, match):
    with pytest.raises(error, match=match):
        pretrained.load_checkpoint(filename)


def test_record_checkpoint_writes_the_files_hash_and_keeps_the_other_entries(scratch_checkpoints):
    (scratch_checkpoints / "extra.pt").write_bytes(b"weights")
    metrics = {"accuracy": {"value": 0.5, "data": "here", "tolerance": 0.01, "measured_on": "2026-01-01"}}
    entry = pretrained.record_checkpoint("extra.pt", script="scripts/train_x.py", command="python scripts/train_x.py",
                                         trained_on="2026-01-01", cpu_minutes=None, metrics=metrics)
    written = json.loads((scratch_checkpoints / "manifest.json").read_text())
    assert written["extra.pt"] == entry and entry["bytes"] == 7
    assert entry["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert set(written) == set(MANIFEST) | {"extra.pt"}
    assert all(written[name] == MANIFEST[name] for name in MANIFEST)
