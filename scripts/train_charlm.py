"""Train the character-level LSTM language model whose checkpoint the book ships.

The chapter *Language modelling* trains a small LSTM for about twenty seconds
and compares it with n-gram models; this script trains a larger one for
longer, on the same plays and with the same code (``lstmlib.models``,
``lstmlib.train.train``), and saves it as a small checkpoint (weights in
float16, < 2 MB) with the settings and the bits per character it measured.

Usage:  python scripts/train_charlm.py [--phases 24] [--out lstmlib/checkpoints/charlm_shakespeare.pt]
        python scripts/train_charlm.py --record-only   (re-measure the shipped file, rewrite its manifest entry)

``make checkpoints NAME=charlm`` runs it with the defaults.

Training runs ``--phases`` phases of ``--phase-steps`` steps; the learning
rate falls by ``--decay`` from one phase to the next (one ``train`` call per
phase). The model is evaluated on the validation play after each phase and
the checkpoint keeps the best one. The budget is counted in steps, not in
minutes, so the same command gives the same model on any machine (up to
floating-point rounding). The shipped checkpoint was made with the defaults
(2 x 256 units, 24 phases of 250 steps, 6,000 steps in all, 19.2 million
characters, one thread): about 28 CPU minutes. The reported metrics
are measured on the float16-rounded weights that are saved, and written
with the file's sha256, the command, the date and the CPU time to
``lstmlib/checkpoints/manifest.json``; ``tests/test_checkpoints.py``
re-measures them with :func:`measure`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from lstmlib.data.shakespeare import (
    TEST_PLAY,
    VALIDATION_PLAY,
    CharVocab,
    consecutive_windows,
    list_plays,
    load_play,
    load_plays,
    training_plays,
)
from lstmlib.metrics import bits_per_char, lstm_cross_entropy
from lstmlib.models import CharLSTM
from lstmlib.pretrained import CHECKPOINTS_DIR, CharLanguageModel, record_checkpoint
from lstmlib.train import seed_everything, train, truncated_bptt_loss

SCRIPT = "scripts/train_charlm.py"
#: How close a re-measurement of a bits-per-character metric must come (float rounding across machines).
TOLERANCE = 2e-3


def measure(checkpoint: dict) -> dict[str, float]:
    """The metrics the manifest records for a checkpoint dict: bits per character on the held-out plays."""
    lm = CharLanguageModel.from_checkpoint(checkpoint)
    plays = checkpoint["plays"]
    return {f"{split}_bits_per_char": bits_per_char(lstm_cross_entropy(lm.model, lm.vocab.encode(load_play(play))))
            for split, play in ((split, plays[split]) for split in ("validation", "test"))}


def manifest_metrics(checkpoint: dict) -> dict[str, dict]:
    """:func:`measure`'s values with the data they were measured on, the tolerance and today's date."""
    today = datetime.date.today().isoformat()
    return {name: {"value": round(value, 4),
                   "data": f"lstmlib.data.shakespeare.load_play({checkpoint['plays'][name.split('_')[0]]!r})",
                   "tolerance": TOLERANCE, "measured_on": today}
            for name, value in measure(checkpoint).items()}


def command_of(parser: argparse.ArgumentParser, options: dict) -> str:
    """The command line that reproduces ``options`` (only the flags that differ from the defaults)."""
    flags = [f"--{action.dest.replace('_', '-')} {options[action.dest]}" for action in parser._actions
             if action.dest in options and action.default not in (None, argparse.SUPPRESS)
             and action.dest not in ("out", "record_only") and options[action.dest] != action.default]
    return " ".join(["python", SCRIPT, *flags])


def rounded_copy(model: CharLSTM) -> CharLSTM:
    """A float32 copy of ``model`` whose weights went through float16, as the checkpoint stores them."""
    copy = CharLSTM.from_config(model.config)
    copy.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return copy.eval()


def record_only(parser: argparse.ArgumentParser, out: Path) -> None:
    """Re-measure the saved checkpoint ``out`` and rewrite its manifest entry (no training)."""
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    training = checkpoint["training"]
    # Checkpoints saved before the manifest existed carry no date: take the commit that added the file.
    trained_on = training.get("date") or subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%cs", "--", str(out)],
        capture_output=True, text=True, check=False).stdout.strip() or "unknown"
    entry = record_checkpoint(
        out.name, script=SCRIPT, command=command_of(parser, training), trained_on=trained_on,
        cpu_minutes=training.get("cpu_minutes"), metrics=manifest_metrics(checkpoint),
        note=f"metrics re-measured by `python {SCRIPT} --record-only` from the saved float16 weights; "
             f"cpu_minutes and trained_on describe the training run")
    print(f"recorded {out.name}: " + ", ".join(f"{k} {v['value']}" for k, v in entry["metrics"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=24, help="number of training phases")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--embed-size", type=int, default=32)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=100, help="truncated BPTT window, in characters")
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate of the first phase")
    parser.add_argument("--phase-steps", type=int, default=250, help="steps per phase")
    parser.add_argument("--decay", type=float, default=0.89, help="learning-rate factor from phase to phase")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CHECKPOINTS_DIR / "charlm_shakespeare.pt")
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-measure the file --out and rewrite its manifest entry")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.record_only:
        record_only(parser, args.out)
        return

    vocab = CharVocab.from_text(load_plays(list_plays()))
    train_ids = vocab.encode(load_plays(training_plays()))
    valid_ids = vocab.encode(load_play(VALIDATION_PLAY))

    seed_everything(args.seed)
    settings = dict(embed_size=args.embed_size, hidden_size=args.hidden_size, num_layers=args.num_layers)
    model = CharLSTM(len(vocab), **settings)
    batches = consecutive_windows(train_ids, args.batch_size, args.length, rng=args.seed)
    loss_fn = truncated_bptt_loss(model, batches)

    start, lr, steps, best = time.perf_counter(), args.lr, 0, math.inf
    bar = tqdm(total=args.phases * args.phase_steps, unit="step", desc="charlm", dynamic_ncols=True)

    def show_loss(step: int, loss: float) -> None:
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{bits_per_char(loss):.3f} bpc", lr=f"{lr:.1e}", refresh=False)

    for _ in range(args.phases):
        history = train(model, loss_fn, steps=args.phase_steps, lr=lr, clip=1.0, on_step=show_loss)
        steps += args.phase_steps
        valid_bits = bits_per_char(lstm_cross_entropy(rounded_copy(model), valid_ids))
        minutes = (time.perf_counter() - start) / 60
        recent = history.loss[-100:]
        train_bits = bits_per_char(sum(recent) / len(recent))
        bar.write(f"{minutes:5.1f} min  step {steps:6d}  lr {lr:.1e}  train {train_bits:.3f}  "
                  f"valid {valid_bits:.3f} bits/char")
        if valid_bits < best:
            best, best_state, best_steps = valid_bits, {k: v.half() for k, v in model.state_dict().items()}, steps
        lr *= args.decay
    bar.close()

    final = CharLSTM(len(vocab), **settings)
    final.load_state_dict({k: v.float() for k, v in best_state.items()})
    test_bits = bits_per_char(lstm_cross_entropy(final, vocab.encode(load_play(TEST_PLAY))))
    checkpoint = {
        "state_dict": best_state,  # float16
        "settings": settings,
        "chars": vocab.chars,
        "training": dict(vars(args), out=args.out.name, steps=best_steps,
                         characters_seen=best_steps * args.batch_size * args.length,
                         wall_minutes=round((time.perf_counter() - start) / 60, 1),
                         cpu_minutes=round(time.process_time() / 60, 1),
                         threads=torch.get_num_threads(), date=datetime.date.today().isoformat()),
        "plays": {"train": training_plays(), "validation": VALIDATION_PLAY, "test": TEST_PLAY},
        "bits_per_char": {"validation": round(best, 4), "test": round(test_bits, 4)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, args.out)
    size = args.out.stat().st_size / 2**20
    print(f"saved {args.out} ({size:.2f} MiB): step {best_steps}, valid {best:.3f}, test {test_bits:.3f} bits/char")
    if args.out.parent.resolve() == CHECKPOINTS_DIR:  # a shipped file: its manifest entry
        record_checkpoint(args.out.name, script=SCRIPT, command=" ".join(["python", SCRIPT, *sys.argv[1:]]),
                          trained_on=checkpoint["training"]["date"], cpu_minutes=checkpoint["training"]["cpu_minutes"],
                          metrics=manifest_metrics(checkpoint))
        print(f"recorded {args.out.name} in {CHECKPOINTS_DIR.name}/manifest.json")


if __name__ == "__main__":
    main()
