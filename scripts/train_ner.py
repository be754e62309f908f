"""Train the named-entity taggers of chapter III.6 and save them, with the shipped one, in one checkpoint.

All variants read the same generated sentences (:mod:`lstmlib.data.entities`,
training templates and training entities, 40% of them with random entity
types) for the same number of steps of Adam, and are scored on sentences with
unseen templates *and* unseen entities, and on the book's news sentences:

* ``feature-crf`` -- a CRF on hashed hand-made features, no LSTM;
* ``lstm``, ``bilstm``, ``bilstm-crf`` -- words + word shapes, no characters;
* ``lstm-char``, ``bilstm-char``, ``bilstm-crf-char`` -- the same with a character BiLSTM per word.

The counting baselines (most frequent tag, gazetteer) have no weights: :func:`measure`
refits them on the same training sentences. The shipped tagger
(``lstmlib.pretrained.load("ner-en")``) is ``bilstm-crf``: in the shipped run
the character BiLSTM made the taggers worse on unseen names and on the news
sentences (chapter III.6 shows the numbers). Weights are
stored in float16 and every metric is measured on those rounded weights;
``tests/test_checkpoints.py`` re-measures them with :func:`measure`.

Usage:  python scripts/train_ner.py [--steps 1200] [--out lstmlib/checkpoints/ner_en.pt]
        python scripts/train_ner.py --record-only   (re-measure the shipped file, rewrite its manifest entry)

The shipped file was made with the defaults on one thread (the manifest
records the CPU minutes).
"""

from __future__ import annotations

import argparse
import datetime
import time
from dataclasses import asdict

import numpy as np
import torch

from lstmlib.data.entities import TAGS, entity_sentences, load_news_sentences
from lstmlib.metrics import entity_f1
from lstmlib.models.ner import (
    FeatureCRF,
    Gazetteer,
    MostFrequentTag,
    NERTagger,
    NERTaggerConfig,
    TokenEncoder,
    load_variant,
)
from lstmlib.pretrained import CHECKPOINTS_DIR, record_checkpoint
from lstmlib.train import seed_everything, train

SCRIPT = "scripts/train_ner.py"
TOLERANCE = 0.01
NEURAL = {  # name -> (bidirectional, crf, characters)
    "lstm": (False, False, False), "bilstm": (True, False, False), "bilstm-crf": (True, True, False),
    "lstm-char": (False, False, True), "bilstm-char": (True, False, True), "bilstm-crf-char": (True, True, True),
}
SHIPPED = "bilstm-crf"


def datasets(data: dict) -> dict[str, list]:
    """The training, validation, test and news sentences ``[(tokens, tags)]`` a checkpoint's ``data`` names."""
    return {"train": entity_sentences(data["train"], "train", rng=data["seed"],
                                      random_types=data.get("random_types", 0.0)),
            "test": entity_sentences(data["test"], "test", rng=data["seed"] + 1),
            "news": load_news_sentences()}


def measure(checkpoint: dict) -> dict[str, float]:
    """Entity F1 (exact spans) of every variant and both baselines on the unseen-template test set and the news."""
    data = datasets(checkpoint["data"])
    train_tokens, train_tags = zip(*data["train"])
    taggers = {"most-frequent-tag": MostFrequentTag().fit(train_tokens, train_tags).tag,
               "gazetteer": Gazetteer().fit(train_tokens, train_tags).tag}
    taggers |= {name: load_variant(checkpoint, name).tag for name in checkpoint["variants"]}
    metrics = {}
    for name, tag in taggers.items():
        for split in ("test", "news"):
            tokens, gold = zip(*data[split])
            scores = entity_f1(gold, tag(list(tokens)))
            metrics[f"{name}_{split}_f1"] = scores["all"]["f1"]
            if name == SHIPPED and split == "test":
                metrics |= {f"{name}_{split}_f1_{kind}": s["f1"] for kind, s in scores.items() if kind != "all"}
    return metrics


def batches_of(sentences, batch_size, seed):
    """An endless stream of shuffled batches ``(tokens, tags)``."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(sentences))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            chosen = [sentences[i] for i in order[start:start + batch_size]]
            yield [s for s, _ in chosen], [t for _, t in chosen]


def train_variant(name, encoder, sentences, args) -> dict:
    """Train one variant; its ``{"config"/"buckets", "state_dict" (float16)}`` entry."""
    seed_everything(args.seed)
    batches = batches_of(sentences, args.batch_size, args.seed)
    if name == "feature-crf":
        model = FeatureCRF(len(TAGS), buckets=args.buckets)

        def loss_fn(step):
            tokens, tags = next(batches)
            return model.loss(tokens, encoder.encode_tags(tags))

        train(model, loss_fn, steps=args.steps, lr=args.feature_lr, clip=5.0)
        return {"buckets": args.buckets, "state_dict": {k: v.half() for k, v in model.state_dict().items()}}
    bidirectional, crf, chars = NEURAL[name]
    config = NERTaggerConfig(len(encoder.words), len(encoder.chars), len(TAGS), word_size=args.word_size,
                             hidden_size=args.hidden_size, char_hidden=args.char_hidden if chars else 0,
                             bidirectional=bidirectional, crf=crf)
    model = NERTagger(config)

    def loss_fn(step):
        tokens, tags = next(batches)
        return model.loss(encoder.encode(tokens), encoder.encode_tags(tags))

    train(model, loss_fn, steps=args.steps, lr=args.lr, clip=5.0)
    return {"config": asdict(config), "state_dict": {k: v.half() for k, v in model.state_dict().items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8000, help="training sentences")
    parser.add_argument("--test", type=int, default=1000, help="test sentences (unseen templates and entities)")
    parser.add_argument("--random-types", type=float, default=0.4,
                        help="share of training sentences whose entity slots take random types")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--feature-lr", type=float, default=5e-2)
    parser.add_argument("--max-vocab", type=int, default=2000, help="word vocabulary size, specials included")
    parser.add_argument("--word-size", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=48)
    parser.add_argument("--char-hidden", type=int, default=16)
    parser.add_argument("--buckets", type=int, default=2**13, help="rows of the feature CRF's hashed table")
    parser.add_argument("--variants", default=",".join(["feature-crf", *NEURAL]))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(CHECKPOINTS_DIR / "ner_en.pt"))
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-measure the saved file --out and write its manifest entry")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.record_only:
        checkpoint = torch.load(args.out, weights_only=True)
        record(parser, checkpoint["training"], measure(checkpoint))
        return
    start = time.process_time()
    data = {"train": args.train, "test": args.test, "seed": args.seed, "random_types": args.random_types}
    sentences = datasets(data)["train"]
    encoder = TokenEncoder.from_sentences([s for s, _ in sentences], TAGS, max_size=args.max_vocab)
    checkpoint = {"words": encoder.words.tokens, "chars": encoder.chars.chars, "tags": list(TAGS),
                  "data": data, "shipped": SHIPPED, "variants": {}}
    for name in args.variants.split(","):
        t0 = time.process_time()
        checkpoint["variants"][name] = train_variant(name, encoder, sentences, args)
        print(f"{name}: {time.process_time() - t0:.0f} CPU s", flush=True)
    cpu_minutes = round((time.process_time() - start) / 60, 1)
    checkpoint["training"] = {k: v for k, v in vars(args).items() if k != "out"} | {
        "cpu_minutes": cpu_minutes, "date": datetime.date.today().isoformat()}
    torch.save(checkpoint, args.out)
    metrics = measure(torch.load(args.out, weights_only=True))
    for name, value in metrics.items():
        print(f"{name:40s} {value:.3f}")
    if args.out == str(CHECKPOINTS_DIR / "ner_en.pt"):
        record(parser, checkpoint["training"], metrics)


def record(parser: argparse.ArgumentParser, training: dict, metrics: dict[str, float]) -> None:
    """Write the manifest entry of ``lstmlib/checkpoints/ner_en.pt`` with ``metrics`` and the command that made it."""
    flags = [f"--{action.dest.replace('_', '-')} {training[action.dest]}" for action in parser._actions
             if action.dest in training and action.default not in (None, argparse.SUPPRESS)
             and action.dest not in ("record_only", "out") and training[action.dest] != action.default]
    today = datetime.date.today().isoformat()
    described = {"test": f"lstmlib.data.entities.entity_sentences({training['test']}, 'test', "
                         f"rng={training['seed'] + 1})",
                 "news": "lstmlib.data.entities.load_news_sentences()"}
    record_checkpoint(
        "ner_en.pt", script=SCRIPT, command=" ".join(["python", SCRIPT, *flags]), trained_on=training["date"],
        cpu_minutes=training["cpu_minutes"],
        note="entity F1 on exact spans (lstmlib.metrics.entity_f1), measured on the saved float16 weights",
        metrics={name: {"value": round(value, 4), "data": described[name.split("_")[1]],
                        "tolerance": TOLERANCE, "measured_on": today} for name, value in metrics.items()})


if __name__ == "__main__":
    main()
