"""Train a character-level LSTM on any UTF-8 text, on one process or many (``torchrun``), and resume it.

Usage (one process; Shakespeare's training plays unless --text is given):

    python scripts/train_char_rnn.py --text my_corpus.txt --steps 2000 --checkpoint runs/char_rnn.pt

The same command, data-parallel over 4 processes on this machine (gloo on CPU, NCCL on GPUs):

    torchrun --standalone --nproc_per_node 4 scripts/train_char_rnn.py --text my_corpus.txt --steps 2000

and over two machines of 4 each (run on both; HOST is the first one's address):

    torchrun --nnodes 2 --nproc_per_node 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        scripts/train_char_rnn.py --text my_corpus.txt --steps 2000

``--batch-size`` is the global batch: each of N workers trains on B/N of its
columns, and the gradients are averaged (``lstmlib.distributed``), so the run
follows the same loss curve whatever N is (``tests/test_distributed.py``
checks 2 workers against 1). The text is read as consecutive windows, and
each column carries its LSTM state from one window to the next (truncated
backpropagation through time, as ``scripts/train_charlm.py`` does).

Every ``--save-every`` steps rank 0 writes the checkpoint: weights, optimiser
state, step, and the carried state of every column. ``--resume`` continues
from it on every rank, on the window where it stopped, with the same next loss.
Only rank 0 shows the progress bar, writes ``--loss-log`` (one JSON line per step:
the loss averaged over workers) and prints the final sample.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from lstmlib import distributed
from lstmlib.data.shakespeare import consecutive_windows, load_plays, training_plays
from lstmlib.decoding import sample
from lstmlib.metrics import bits_per_char
from lstmlib.models import CharLSTM
from lstmlib.text import CharVocab
from lstmlib.train import seed_everything, train

# The settings a resumed run must share with the run that wrote its checkpoint (the data order depends on them).
RESUME_MUST_MATCH = ("text_sha256", "batch_size", "length", "seed")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=None, help="a UTF-8 text file (default: Shakespeare's plays)")
    parser.add_argument("--steps", type=int, default=2000, help="total optimisation steps (a resumed run included)")
    parser.add_argument("--batch-size", type=int, default=32, help="global batch: columns, split over the workers")
    parser.add_argument("--length", type=int, default=100, help="truncated BPTT window, in characters")
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--embed-size", type=int, default=32)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--clip", type=float, default=1.0, help="maximum global gradient norm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker (0: torch's default)")
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/char_rnn.pt"))
    parser.add_argument("--save-every", type=int, default=500, help="steps between checkpoints (and at the end)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--loss-log", type=Path, default=None, help="append one JSON line per step: step, loss")
    parser.add_argument("--sample", type=int, default=300, help="characters to sample at the end (0: none)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--exit-after", type=int, default=None,
                        help="(for testing resume) every worker exits abruptly, status 1, after this step, "
                             "as a killed job would: no clean-up, nothing written after it")
    return parser.parse_args(argv)


def read_text(path: Path | None) -> str:
    """The training text: the file at ``path`` (UTF-8), or Shakespeare's training plays."""
    if path is None:
        return load_plays(training_plays())
    text = path.read_text(encoding="utf-8")
    if len(text) < 2:
        raise SystemExit(f"--text must hold at least 2 characters; {path} holds {len(text)}")
    return text


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    world = distributed.setup()
    columns = distributed.shard(args.batch_size, world)

    text = read_text(args.text)
    vocab = CharVocab.from_text(text)
    ids = vocab.encode(text)
    settings = {"text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "batch_size": args.batch_size,
                "length": args.length, "seed": args.seed}

    seed_everything(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = CharLSTM(len(vocab), embed_size=args.embed_size, hidden_size=args.hidden_size,
                     num_layers=args.num_layers).to(world.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, carried = 0, None
    if args.resume:
        saved = torch.load(args.checkpoint, map_location=world.device, weights_only=True)
        for key in RESUME_MUST_MATCH:
            if saved["settings"][key] != settings[key]:
                raise SystemExit(f"--resume: {key} must match the checkpoint's ({saved['settings'][key]!r}); "
                                 f"got {settings[key]!r}")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["step"]
        carried = tuple(s[:, columns].contiguous() for s in saved["carried_state"])
    net = model if world.backend is None else DistributedDataParallel(model)

    batches = consecutive_windows(ids, args.batch_size, args.length, rng=args.seed)
    for _ in range(step):  # the windows already trained on
        next(batches)

    def loss_fn(_: int) -> torch.Tensor:
        nonlocal carried
        x, y = (torch.from_numpy(a[:, columns]).to(world.device) for a in next(batches))  # (T, B/N)
        if carried is not None:
            carried = tuple(s.detach() for s in carried)
        logits, carried = net(x, carried)
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())

    def save(at_step: int) -> None:
        state = tuple(distributed.gather_columns(s.detach(), world).cpu() for s in carried)  # every rank joins
        if world.is_main:
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": at_step,
                        "config": model.config.to_dict(), "chars": vocab.chars, "carried_state": state,
                        "settings": settings}, args.checkpoint)

    bar = tqdm(total=args.steps, initial=step, unit="step", desc=f"char-rnn x{world.size}", dynamic_ncols=True,
               disable=args.no_progress or not world.is_main)
    log = args.loss_log.open("a", encoding="utf-8") if (args.loss_log and world.is_main) else None
    first = step

    def on_step(k: int, loss: float) -> None:
        at = first + k + 1
        loss = distributed.mean_over_workers(loss, world)  # the whole batch's loss
        if log:
            log.write(json.dumps({"step": at, "loss": loss, "workers": world.size}) + "\n")
        bar.update(1)
        if at % 10 == 0:
            bar.set_postfix(loss=f"{bits_per_char(loss):.3f} bpc", refresh=False)
        if at % args.save_every == 0 or at == args.steps:
            save(at)
        if at == args.exit_after:
            if log:
                log.flush()
            os._exit(1)

    start = time.perf_counter()
    if args.steps > step:
        train(net, loss_fn, steps=args.steps - step, clip=args.clip, optimizer=optimizer, on_step=on_step)
    bar.close()
    if log:
        log.close()
    if world.is_main:
        print(f"{args.steps - first} steps on {world.size} worker(s) in {time.perf_counter() - start:.1f} s; "
              f"checkpoint {args.checkpoint}")
        if args.sample:
            prompt = vocab.encode(text[: min(len(text), 20)])
            print(text[: len(prompt)] + vocab.decode(sample(model.cpu(), prompt, args.sample, temperature=0.8,
                                                              rng=args.seed)))
    distributed.teardown(world)


if __name__ == "__main__":
    main()
