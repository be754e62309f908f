"""Data-parallel training under torchrun: 2 CPU workers follow 1 worker's loss curve, and a killed run resumes.

``scripts/train_char_rnn.py`` is run for real, as a reader would run it: with
``python`` (one worker) and with ``torchrun --standalone --nproc_per_node 2``
(two gloo workers on this machine's CPU), on a small text, for a few steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from book_files import ROOT

from lstmlib import distributed

SCRIPT = ROOT / "scripts" / "train_char_rnn.py"
TORCHRUN = Path(sys.executable).parent / "torchrun"
# A small model on a small text: the point is the arithmetic of the split, not the learning.
SETTINGS = ["--steps", "6", "--batch-size", "8", "--length", "20", "--hidden-size", "32", "--num-layers", "1",
            "--sample", "0", "--no-progress", "--save-every", "3"]
# 2 workers at B/2 average their gradients: the same gradient as 1 worker at B, summed in another order.
# In float32 that moves the loss by about 1e-7 relative per step; after 6 Adam steps we measured up to 5e-7.
CURVE_TOLERANCE = 1e-5


def run(tmp_path: Path, name: str, workers: int, *extra: str, expect_ok: bool = True) -> list[float]:
    """Train with ``workers`` processes; returns the per-step losses rank 0 logged (averaged over workers)."""
    log = tmp_path / f"{name}.jsonl"
    launcher = [str(TORCHRUN), "--standalone", "--nproc_per_node", str(workers)] if workers > 1 else [sys.executable]
    command = [*launcher, str(SCRIPT), "--text", str(tmp_path / "text.txt"), *SETTINGS,
               "--checkpoint", str(tmp_path / f"{name}.pt"), "--loss-log", str(log), *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path)
    assert (done.returncode == 0) == expect_ok, done.stdout[-2000:] + done.stderr[-4000:]
    return [json.loads(line)["loss"] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def text(tmp_path):
    (tmp_path / "text.txt").write_text((ROOT / "README.md").read_text(encoding="utf-8")[:20000], encoding="utf-8")


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed beside this Python")
def test_two_workers_follow_one_and_a_killed_run_resumes_with_the_same_next_loss(tmp_path, text):
    one = run(tmp_path, "one", 1)
    two = run(tmp_path, "two", 2)
    assert len(one) == len(two) == 6
    assert one[-1] < one[0]  # it trains
    assert max(abs(a - b) for a, b in zip(one, two)) <= CURVE_TOLERANCE

    # killed after step 4, its last checkpoint at step 3: resuming replays step 4 and goes on
    killed = run(tmp_path, "killed", 2, "--exit-after", "4", expect_ok=False)
    assert killed == two[:4]  # the same run as `two` until it died (same workers, same sums)
    assert torch.load(tmp_path / "killed.pt", weights_only=True)["step"] == 3
    resumed = run(tmp_path, "killed", 2, "--resume")
    assert resumed[4:] == two[3:]  # the log holds steps 1-4, then the resumed steps 4-6


def test_shard_splits_the_batch_into_equal_contiguous_shares():
    worlds = [distributed.World(rank, 4, torch.device("cpu"), "gloo") for rank in range(4)]
    assert [distributed.shard(8, w) for w in worlds] == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)]
    with pytest.raises(ValueError, match=r"batch_size must be a multiple of the number of workers \(4\).*got 6"):
        distributed.shard(6, worlds[0])
    alone = distributed.setup() if "RANK" not in os.environ else None
    if alone is not None:
        assert (alone.rank, alone.size, alone.backend) == (0, 1, None)
        assert distributed.mean_over_workers(2.5, alone) == 2.5
