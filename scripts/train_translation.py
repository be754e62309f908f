"""Train the encoder-decoder translation models whose checkpoints the book ships.

The chapter *Sequence to sequence: translation with and without attention*
loads the models trained here with the same code
(:class:`lstmlib.models.seq2seq.Seq2Seq`, :func:`lstmlib.train.train`) on the
tasks of :mod:`lstmlib.data.translation`, all with the same recipe (32-wide
embeddings, 10 phases of 300 Adam steps on batches of 64 pairs, seed 0):

* ``--model numbers``: English -> French numbers, 128 units, additive attention
  (``translate_en_fr_numbers.pt``, ``pretrained.load("translate-en-fr-numbers")``);
* ``--model numbers-plain``: the same without attention (``translate_en_fr_numbers_plain.pt``);
* ``--model numbers-small``: 32 units, additive attention (``translate_en_fr_numbers_small.pt``);
* ``--model numbers-small-plain``: 32 units, no attention (``translate_en_fr_numbers_small_plain.pt``);
* ``--model numbers-small-reversed``: 32 units, no attention, the source read backwards
  (``translate_en_fr_numbers_small_reversed.pt``);
* ``--model dates``: German -> English dates, 128 units, additive attention
  (``translate_de_en_dates.pt``, ``pretrained.load("translate-de-en-dates")``).

All files are in ``lstmlib/checkpoints/``.

Usage:  python scripts/train_translation.py                  (every model, one after the other: make checkpoints)
        python scripts/train_translation.py --model numbers [--phases 10] [--phase-steps 300]
        python scripts/train_translation.py --model numbers --record-only   (re-measure, rewrite the manifest entry)

Training runs ``--phases`` phases of ``--phase-steps`` Adam steps on random
batches of the training split; the learning rate falls by ``--decay`` from
one phase to the next, and the checkpoint keeps the phase with the best
greedy exact match on the validation split (training stops early once that
is 1.0: no later phase could replace it). The budget is counted in steps,
so the same command gives the same model on any machine (up to rounding).
Weights are saved in float16; the metrics in the manifest are measured by
:func:`measure` on those rounded weights, on test data the model never saw,
and ``tests/test_checkpoints.py`` re-measures them.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lstmlib.data.translation import (
    date_pairs,
    date_split,
    number_pairs,
    number_split,
    tokenize_pairs,
    translation_batches,
)
from lstmlib.metrics import translation_scores
from lstmlib.models.seq2seq import Seq2Seq, Seq2SeqConfig, Translator, teacher_forcing_loss
from lstmlib.pretrained import CHECKPOINTS_DIR, record_checkpoint
from lstmlib.text import WordVocab
from lstmlib.train import seed_everything, train

SCRIPT = "scripts/train_translation.py"
#: How close a re-measured exact match, BLEU/100 or chrF/100 must come (float rounding across machines).
TOLERANCE = 0.01
#: model name -> (task, attention, reverse_source, hidden size, checkpoint file)
MODELS = {
    "numbers": ("numbers", "additive", False, 128, "translate_en_fr_numbers.pt"),
    "numbers-plain": ("numbers", "none", False, 128, "translate_en_fr_numbers_plain.pt"),
    "numbers-small": ("numbers", "additive", False, 32, "translate_en_fr_numbers_small.pt"),
    "numbers-small-plain": ("numbers", "none", False, 32, "translate_en_fr_numbers_small_plain.pt"),
    "numbers-small-reversed": ("numbers", "none", True, 32, "translate_en_fr_numbers_small_reversed.pt"),
    "dates": ("dates", "additive", False, 128, "translate_de_en_dates.pt"),
}
#: Source-length buckets (in tokens) of the numbers test split (the extrapolation set reaches 14): (first, last).
NUMBER_BUCKETS = ((1, 7), (8, 9), (10, 11))


def task_pairs(task: str, split: str) -> tuple[list[str], list[str]]:
    """``(sources, targets)`` of one split of ``task`` (``"numbers"`` or ``"dates"``): the data measured on."""
    if task == "numbers":
        return number_pairs(number_split(split))
    return date_pairs(date_split(split))


def task_data_description(task: str, split: str) -> str:
    """The expression that gives ``task_pairs(task, split)``, for the manifest."""
    if task == "numbers":
        return f"lstmlib.data.translation.number_pairs(number_split({split!r}))"
    return f"lstmlib.data.translation.date_pairs(date_split({split!r}))"


def measure(checkpoint: dict) -> dict[str, float]:
    """The metrics the manifest records for a checkpoint dict, greedy decoding on held-out data.

    Test split: exact match, BLEU/100 and chrF/100; for the numbers task also
    exact match per source-length bucket (:data:`NUMBER_BUCKETS`) and on the
    extrapolation set (100,000 - 999,999).
    """
    translator = Translator.from_checkpoint(checkpoint)
    task = checkpoint["task"]
    metrics = {}
    splits = ("test", "extrapolation") if task == "numbers" else ("test",)
    for split in splits:
        sources, targets = task_pairs(task, split)
        outputs = translator.translate(sources)
        scores = translation_scores(outputs, targets)
        metrics.update({f"{split}_{name}": value for name, value in scores.items()})
        if task == "numbers" and split == "test":
            lengths = [len(tokens) for tokens in tokenize_pairs(sources, targets)[0]]
            for first, last in NUMBER_BUCKETS:
                chosen = [k for k, n in enumerate(lengths) if first <= n <= last]
                hits = sum(outputs[k] == targets[k] for k in chosen)
                metrics[f"test_exact_match_length_{first}_{last}"] = hits / len(chosen)
    return metrics


def manifest_metrics(checkpoint: dict) -> dict[str, dict]:
    """:func:`measure`'s values with the data they were measured on, the tolerance and today's date."""
    today = datetime.date.today().isoformat()
    return {name: {"value": round(value, 4),
                   "data": task_data_description(checkpoint["task"], name.split("_")[0]) + ", greedy decoding",
                   "tolerance": TOLERANCE, "measured_on": today}
            for name, value in measure(checkpoint).items()}


def rounded(model: Seq2Seq) -> dict:
    """``model``'s weights in float16, as the checkpoint stores them."""
    return {k: v.half() for k, v in model.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default=None,
                        help="the model to train (default: all of them, one after the other)")
    parser.add_argument("--phases", type=int, default=10)
    parser.add_argument("--phase-steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--embed-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=None, help="default: the model's own (128 or 32)")
    parser.add_argument("--attention-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate of the first phase")
    parser.add_argument("--decay", type=float, default=0.7, help="learning-rate factor from phase to phase")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="default: the model's file in lstmlib/checkpoints")
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-measure the file --out and rewrite its manifest entry")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.model is None:  # `make checkpoints` runs the script with no arguments: every model, each on its own
        if args.out is not None:
            parser.error("--out needs --model (one file per model)")
        for name in MODELS:
            train_one(argparse.Namespace(**{**vars(args), "model": name}),
                      " ".join(["python", SCRIPT, "--model", name, *sys.argv[1:]]))
        return
    train_one(args, " ".join(["python", SCRIPT, *sys.argv[1:]]))


def train_one(args: argparse.Namespace, command: str) -> None:
    """Train (or with ``--record-only`` re-measure) the model ``args.model``; ``command`` reproduces it."""
    task, attention, reverse_source, hidden_size, filename = MODELS[args.model]
    hidden_size = args.hidden_size or hidden_size
    out = args.out or CHECKPOINTS_DIR / filename
    if args.record_only:
        checkpoint = torch.load(out, map_location="cpu", weights_only=True)
        record_checkpoint(out.name, script=SCRIPT, command=checkpoint["training"]["command"],
                          trained_on=checkpoint["training"]["date"], cpu_minutes=checkpoint["training"]["cpu_minutes"],
                          metrics=manifest_metrics(checkpoint))
        return

    start_cpu = time.process_time()
    source_tokens, target_tokens = tokenize_pairs(*task_pairs(task, "train"))
    source_vocab, target_vocab = WordVocab.from_tokens(source_tokens), WordVocab.from_tokens(target_tokens)
    valid_sources, valid_targets = task_pairs(task, "validation")
    seed_everything(args.seed)
    config = Seq2SeqConfig(len(source_vocab), len(target_vocab), embed_size=args.embed_size,
                           hidden_size=hidden_size, attention=attention, attention_size=args.attention_size,
                           reverse_source=reverse_source)
    model = Seq2Seq(config)
    batches = translation_batches(source_tokens, target_tokens, source_vocab, target_vocab, args.batch_size,
                                  rng=args.seed)
    loss_fn = teacher_forcing_loss(model, batches)
    lr, best, start, curve = args.lr, -1.0, time.perf_counter(), []
    for phase in range(args.phases):
        history = train(model, loss_fn, steps=args.phase_steps, lr=lr, clip=1.0)
        candidate = Seq2Seq(config)
        candidate.load_state_dict({k: v.float() for k, v in rounded(model).items()})
        translator = Translator(candidate, source_vocab, target_vocab)
        exact = float(np.mean([o == t for o, t in zip(translator.translate(valid_sources), valid_targets)]))
        print(f"{(time.perf_counter() - start) / 60:5.1f} min  phase {phase + 1}  lr {lr:.1e}  "
              f"loss {np.mean(history.loss[-50:]):.4f}  validation exact match {exact:.4f}", flush=True)
        curve.append(round(exact, 4))
        if exact > best:
            best, best_state, best_steps = exact, rounded(model), (phase + 1) * args.phase_steps
        if best == 1.0:  # no later phase could be kept: only a better one replaces the best
            break
        lr *= args.decay
    checkpoint = {
        "state_dict": best_state,  # float16
        "config": config.to_dict(),
        "task": task,
        "source_tokens": source_vocab.tokens,
        "target_tokens": target_vocab.tokens,
        "training": dict({k: v for k, v in vars(args).items() if k not in ("out", "record_only")},
                         steps=best_steps, validation_exact_match=round(best, 4), command=command,
                         validation_curve=curve,
                         wall_minutes=round((time.perf_counter() - start) / 60, 1),
                         cpu_minutes=round((time.process_time() - start_cpu) / 60, 1),
                         threads=torch.get_num_threads(), date=datetime.date.today().isoformat()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out)
    print(f"saved {out} ({out.stat().st_size / 2**20:.2f} MiB): step {best_steps}, validation exact match {best:.4f}")
    if out.parent.resolve() == CHECKPOINTS_DIR:
        entry = record_checkpoint(out.name, script=SCRIPT, command=command, trained_on=checkpoint["training"]["date"],
                                  cpu_minutes=checkpoint["training"]["cpu_minutes"],
                                  metrics=manifest_metrics(checkpoint))
        print("recorded: " + ", ".join(f"{k} {v['value']}" for k, v in entry["metrics"].items()))


if __name__ == "__main__":
    main()
