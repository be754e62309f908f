"""Train the character-level LSTM language model whose checkpoint the book ships.

The chapter *Language modelling* trains a small LSTM for about twenty seconds
and compares it with n-gram models; this script trains a larger one for
longer, on the same plays and with the same code (``lstmlib.models``,
``lstmlib.train.train``), and saves it as a small checkpoint (weights in
float16, < 2 MB) with the settings and the bits per character it measured.

Usage:  python scripts/train_charlm.py [--phases 24] [--out lstmlib/checkpoints/charlm_shakespeare.pt]

Training runs ``--phases`` phases of ``--phase-steps`` steps; the learning
rate falls by ``--decay`` from one phase to the next (one ``train`` call per
phase). The model is evaluated on the validation play after each phase and
the checkpoint keeps the best one. The budget is counted in steps, not in
minutes, so the same command gives the same model on any machine (up to
floating-point rounding). The shipped checkpoint was made with the defaults
(2 x 256 units, 24 phases of 250 steps, 6,000 steps in all, 19.2 million
characters, one thread): about 28 CPU minutes. The reported metrics
are measured on the float16-rounded weights that are saved, so the chapter
and ``tests/test_language_model.py`` can check them.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from lstmlib.data.shakespeare import (TEST_PLAY, VALIDATION_PLAY, CharVocab, consecutive_windows, list_plays,
                                      load_play, load_plays, training_plays)
from lstmlib.models import SHAKESPEARE_CHECKPOINT, CharLSTM, bits_per_char, lstm_cross_entropy, truncated_bptt_loss
from lstmlib.train import seed_everything, train


def rounded_copy(model: CharLSTM) -> CharLSTM:
    """A float32 copy of ``model`` whose weights went through float16, as the checkpoint stores them."""
    copy = CharLSTM(model.vocab_size, **model.settings)
    copy.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return copy.eval()


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
    parser.add_argument("--out", type=Path, default=SHAKESPEARE_CHECKPOINT)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    vocab = CharVocab.from_text(load_plays(list_plays()))
    train_ids = vocab.encode(load_plays(training_plays()))
    valid_ids = vocab.encode(load_play(VALIDATION_PLAY))

    seed_everything(args.seed)
    settings = dict(embed_size=args.embed_size, hidden_size=args.hidden_size, num_layers=args.num_layers)
    model = CharLSTM(len(vocab), **settings)
    batches = consecutive_windows(train_ids, args.batch_size, args.length, rng=args.seed)
    loss_fn = truncated_bptt_loss(model, batches)

    start, lr, steps, best = time.perf_counter(), args.lr, 0, math.inf
    for _ in range(args.phases):
        history = train(model, loss_fn, steps=args.phase_steps, lr=lr, clip=1.0)
        steps += args.phase_steps
        valid_bits = bits_per_char(lstm_cross_entropy(rounded_copy(model), valid_ids))
        minutes = (time.perf_counter() - start) / 60
        recent = history.loss[-100:]
        train_bits = bits_per_char(sum(recent) / len(recent))
        print(f"{minutes:5.1f} min  step {steps:6d}  lr {lr:.1e}  train {train_bits:.3f}  "
              f"valid {valid_bits:.3f} bits/char", flush=True)
        if valid_bits < best:
            best, best_state, best_steps = valid_bits, {k: v.half() for k, v in model.state_dict().items()}, steps
        lr *= args.decay

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
                         threads=torch.get_num_threads()),
        "plays": {"train": training_plays(), "validation": VALIDATION_PLAY, "test": TEST_PLAY},
        "bits_per_char": {"validation": round(best, 4), "test": round(test_bits, 4)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, args.out)
    size = args.out.stat().st_size / 2**20
    print(f"saved {args.out} ({size:.2f} MiB): step {best_steps}, valid {best:.3f}, test {test_bits:.3f} bits/char")


if __name__ == "__main__":
    main()
