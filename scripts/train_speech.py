"""Train the spoken-digit recognisers the speech chapter compares: a BiLSTM (shipped), a one-way LSTM, an MLP.

All three read the same log-mel frames of the same synthesised utterances
(:func:`lstmlib.data.speech.load_split`) and are trained with
``torch.nn.CTCLoss`` for the same number of steps, with the same batches,
optimiser and seed; they have about the same number of weights (330,000).
Each is saved as a small checkpoint (weights in float16) under
``lstmlib/checkpoints/`` with a manifest entry whose metrics -- the digit
error rate on the held-out voices, clean and at each noise level, and the
whole-string accuracy on the clean ones -- are measured on the saved
float16 weights by :func:`measure` (``tests/test_checkpoints.py`` re-measures
them). The BiLSTM is what ``lstmlib.pretrained.load("speech-digits-en")``
returns.

Usage:  python scripts/train_speech.py [--only bilstm] [--steps 1500]
        python scripts/train_speech.py --record-only   (re-measure the saved files, rewrite their manifest entries)

``make checkpoints NAME=speech`` runs it with the defaults (all three models).

Training data: the 3,000 utterances of the training voices, 40% clean and
the rest with white noise at an SNR drawn uniformly from 5 to 30 dB (fixed
per utterance, seeded). Batches of ``--batch-size`` utterances of similar
length, in a seeded random order, re-drawn every epoch. The model is scored
(greedy digit error rate) on the validation split -- training voices, other
strings -- every ``--eval-every`` steps and the best one is kept; the test
voices are only used by :func:`measure`.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lstmlib.audio import speech_features
from lstmlib.data.speech import NOISE_LEVELS, SAMPLE_RATE, add_noise, load_split
from lstmlib.metrics import error_rate
from lstmlib.models.speech import (
    SpeechCTCConfig,
    SpeechRecognizer,
    build_speech_model,
    decode,
    digits_to_labels,
    labels_to_digits,
    pad_frames,
)
from lstmlib.pretrained import CHECKPOINTS_DIR, record_checkpoint
from lstmlib.train import seed_everything, train

SCRIPT = "scripts/train_speech.py"
#: The three models: checkpoint file and config. Sizes chosen for about the same number of weights.
MODELS = {
    "bilstm": ("speech_bilstm.pt", SpeechCTCConfig("bilstm", hidden_size=96, num_layers=2)),
    "lstm": ("speech_lstm.pt", SpeechCTCConfig("lstm", hidden_size=160, num_layers=2)),
    "mlp": ("speech_mlp.pt", SpeechCTCConfig("mlp", hidden_size=384, context=5)),
}
#: How close a re-measured error rate must come (one digit in a thousand may flip with float rounding).
TOLERANCE = 0.005


def noise_name(snr_db: float | None) -> str:
    """``None`` -> ``"clean"``, ``10.0`` -> ``"snr10"``: the suffix of a metric's name."""
    return "clean" if snr_db is None else f"snr{snr_db:g}"


def evaluate(recognizer: SpeechRecognizer, frames: list[np.ndarray], digits: list[str],
             beam_width: int | None = None) -> dict[str, float]:
    """Digit error rate and whole-string accuracy of ``recognizer`` on pre-computed ``frames``."""
    hypotheses = [labels_to_digits(labels)
                  for labels in decode(recognizer.log_probs_of_features(frames), beam_width)]
    return {"digit_error_rate": error_rate(digits, hypotheses),
            "string_accuracy": float(np.mean([h == d for h, d in zip(hypotheses, digits)]))}


@functools.cache
def held_out_frames(snr_db: float | None) -> tuple[list[np.ndarray], list[str]]:
    """The test split's features at ``snr_db`` (computed once per process: every model is scored on them)."""
    waveforms, digits = load_split("test", snr_db)
    return [speech_features(w, SAMPLE_RATE) for w in waveforms], digits


def measure(checkpoint: dict) -> dict[str, float]:
    """The metrics the manifest records: on the test voices, the digit error rate at every noise level
    (:data:`lstmlib.data.speech.NOISE_LEVELS`) and the clean whole-string accuracy; greedy decoding."""
    recognizer = SpeechRecognizer.from_checkpoint(checkpoint)
    metrics = {}
    for snr_db in NOISE_LEVELS:
        scores = evaluate(recognizer, *held_out_frames(snr_db))
        metrics[f"test_digit_error_rate_{noise_name(snr_db)}"] = scores["digit_error_rate"]
        if snr_db is None:
            metrics["test_string_accuracy_clean"] = scores["string_accuracy"]
    return metrics


def manifest_metrics(checkpoint: dict) -> dict[str, dict]:
    """:func:`measure`'s values with the data they were measured on, the tolerance and today's date."""
    today = datetime.date.today().isoformat()
    return {name: {"value": round(value, 4), "data": metric_data(name), "tolerance": TOLERANCE, "measured_on": today}
            for name, value in measure(checkpoint).items()}


def metric_data(name: str) -> str:
    """What the metric ``name`` (e.g. ``test_digit_error_rate_snr10``) was measured on, as the call that loads it."""
    level = {noise_name(snr_db): snr_db for snr_db in NOISE_LEVELS}[name.rsplit("_", 1)[-1]]
    return f"lstmlib.data.speech.load_split('test', {level!r}): 300 utterances by unseen voices, greedy decoding"


def training_frames(seed: int) -> tuple[list[np.ndarray], list[str]]:
    """The training split's features: 40% clean, the rest with noise at 5-30 dB SNR (seeded, fixed per utterance)."""
    waveforms, digits = load_split("train")
    rng = np.random.default_rng(seed)
    noisy = []
    for waveform in waveforms:
        snr_db = None if rng.random() < 0.4 else float(rng.uniform(5.0, 30.0))
        noisy.append(add_noise(waveform, snr_db, rng=rng))
    return [speech_features(w, SAMPLE_RATE) for w in noisy], digits


def length_batches(lengths: list[int], batch_size: int, rng: np.random.Generator):
    """Endless batches of utterance indices of similar length: sorted, cut into batches, shuffled every epoch."""
    order = np.argsort(lengths, kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    while True:
        for b in rng.permutation(len(batches)):
            yield batches[b]


def rounded(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights in float16, as the checkpoint stores them."""
    return {name: weight.detach().half() for name, weight in model.state_dict().items()}


def train_one(arch: str, args, frames, digits, valid_frames, valid_digits) -> dict:
    """Train model ``arch`` and return its checkpoint dict (best validation error rate)."""
    filename, config = MODELS[arch]
    seed_everything(args.seed)
    model = build_speech_model(config)
    batches = length_batches([len(f) for f in frames], args.batch_size, np.random.default_rng(args.seed))
    ctc = torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)

    def loss_fn(step: int) -> torch.Tensor:
        index = next(batches)
        features, lengths = pad_frames([frames[i] for i in index])
        targets = [torch.tensor(digits_to_labels(digits[i])) for i in index]
        log_probs = model(features, lengths)
        return ctc(log_probs, torch.cat(targets), lengths, torch.tensor([len(t) for t in targets]))

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    best, lr, steps_done = None, args.lr, 0
    while steps_done < args.steps:
        history = train(model, loss_fn, steps=args.eval_every, lr=lr, clip=args.clip)
        steps_done += args.eval_every
        state = rounded(model)
        candidate = SpeechRecognizer.from_checkpoint({"config": config.to_dict(), "state_dict": state})
        score = evaluate(candidate, valid_frames, valid_digits)["digit_error_rate"]
        print(f"{arch:6s} step {steps_done:5d}  lr {lr:.1e}  loss {np.mean(history.loss[-50:]):.3f}  "
              f"valid DER {score:.4f}  {(time.process_time() - cpu_start) / 60:.1f} CPU min", flush=True)
        if best is None or score < best[0]:
            best = (score, state, steps_done)
        lr *= args.decay
    score, state, steps = best
    return {
        "state_dict": state,  # float16
        "config": config.to_dict(),
        "labels": "class 0 is the CTC blank, class d + 1 the digit d",
        "features": "lstmlib.audio.speech_features(waveform, sample_rate): 40 log-mels, 25 ms windows every 10 ms, "
                    "each band standardised over the utterance",
        "training": dict(vars(args), out=filename, arch=arch, steps=steps, validation_digit_error_rate=round(score, 4),
                         wall_minutes=round((time.perf_counter() - wall_start) / 60, 1),
                         cpu_minutes=round((time.process_time() - cpu_start) / 60, 1),
                         threads=torch.get_num_threads(), date=datetime.date.today().isoformat()),
    }


def record(filename: str, checkpoint: dict, command: str) -> None:
    """Write the manifest entry of the saved file ``filename``."""
    entry = record_checkpoint(filename, script=SCRIPT, command=command, trained_on=checkpoint["training"]["date"],
                              cpu_minutes=checkpoint["training"]["cpu_minutes"],
                              metrics=manifest_metrics(checkpoint))
    print(f"recorded {filename}: " + ", ".join(f"{k} {v['value']}" for k, v in entry["metrics"].items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(MODELS), help="train one model (default: all three)")
    parser.add_argument("--steps", type=int, default=1500, help="optimisation steps per model")
    parser.add_argument("--eval-every", type=int, default=150, help="steps between validation scores")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate at the start")
    parser.add_argument("--decay", type=float, default=0.85, help="learning-rate factor after each evaluation")
    parser.add_argument("--clip", type=float, default=1.0, help="maximum gradient norm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=CHECKPOINTS_DIR)
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-measure the saved files and rewrite their manifest entries")
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs = [args.only] if args.only else list(MODELS)
    if args.record_only:
        for arch in archs:
            filename = MODELS[arch][0]
            checkpoint = torch.load(args.out_dir / filename, map_location="cpu", weights_only=True)
            record(filename, checkpoint, checkpoint["training"]["command"])
        return
    frames, digits = training_frames(args.seed)
    valid_waveforms, valid_digits = load_split("validation")
    valid_frames = [speech_features(w, SAMPLE_RATE) for w in valid_waveforms]
    flags = [a for a in sys.argv[1:] if a != "--only" and a not in MODELS]
    for arch in archs:
        checkpoint = train_one(arch, args, frames, digits, valid_frames, valid_digits)
        command = " ".join(["python", SCRIPT, *flags, "--only", arch])  # each model trains on its own, seeded
        checkpoint["training"]["command"] = command
        checkpoint["training"].pop("out_dir")
        filename = MODELS[arch][0]
        args.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, args.out_dir / filename)
        print(f"saved {args.out_dir / filename} ({(args.out_dir / filename).stat().st_size / 2**20:.2f} MiB)")
        if args.out_dir.resolve() == CHECKPOINTS_DIR:
            record(filename, checkpoint, command)


if __name__ == "__main__":
    main()
