"""Train the named-entity taggers of chapter III.6 and save them, with the shipped one, in one checkpoint.

All variants read the same generated sentences (:mod:`lstmlib.data.entities`,
training templates and training entities) and are scored on sentences with
unseen templates *and* unseen entities, and on the book's news sentences:

* ``feature-crf`` -- a CRF on hashed hand-made features, no LSTM;
* ``lstm``, ``bilstm``, ``bilstm-crf`` -- words + word shapes, no characters;
* ``lstm-char``, ``bilstm-char``, ``bilstm-crf-char`` -- the same with a character BiLSTM per word.

The counting baselines (most frequent tag, gazetteer) have no weights: :func:`measure`
refits them on the same training sentences. The shipped tagger
(``lstmlib.pretrained.load("ner-en")``) is ``bilstm-crf-char``. Weights are
stored in float16 and every metric is measured on those rounded weights;
``tests/test_checkpoints.py`` re-measures them with :func:`measure`.

Usage:  python scripts/train_ner.py [--steps 600] [--out lstmlib/checkpoints/ner_en.pt]
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
    EntityTagger,
    FeatureCRF,
    Gazetteer,
    MostFrequentTag,
    NERTagger,
    NERTaggerConfig,
    TokenEncoder,
)
from lstmlib.pretrained import CHECKPOINTS_DIR, record_checkpoint
from lstmlib.train import seed_everything, train

SCRIPT = "scripts/train_ner.py"
TOLERANCE = 0.01
NEURAL = {  # name -> (bidirectional, crf, characters)
    "lstm": (False, False, False), "bilstm": (True, False, False), "bilstm-crf": (True, True, False),
    "lstm-char": (False, False, True), "bilstm-char": (True, False, True), "bilstm-crf-char": (True, True, True),
}
SHIPPED = "bilstm-crf-char"


def datasets(data: dict) -> dict[str, list]:
    """The training, validation, test and news sentences ``[(tokens, tags)]`` a checkpoint's ``data`` names."""
    return {"train": entity_sentences(data["train"], "train", rng=data["seed"]),
            "test": entity_sentences(data["test"], "test", rng=data["seed"] + 1),
            "news": load_news_sentences()}


def tagger_of(checkpoint: dict, name: str):
    """A ``tag(sentences)`` function for variant ``name`` of a checkpoint (neural or feature CRF)."""
    entry = checkpoint["variants"][name]
    if name == "feature-crf":
        model = FeatureCRF(len(checkpoint["tags"]), buckets=entry["buckets"])
        model.load_state_dict({k: v.float() for k, v in entry["state_dict"].items()})
        return lambda sentences: [[checkpoint["tags"][i] for i in row] for row in model.eval().predict(sentences)]
    return EntityTagger.from_parts(entry, checkpoint["words"], checkpoint["chars"], checkpoint["tags"]).tag


def measure(checkpoint: dict) -> dict[str, float]:
    """Entity F1 (exact spans) of every variant and both baselines on the unseen-template test set and the news."""
    data = datasets(checkpoint["data"])
    train_tokens, train_tags = zip(*data["train"])
    taggers = {"most-frequent-tag": MostFrequentTag().fit(train_tokens, train_tags).tag,
               "gazetteer": Gazetteer().fit(train_tokens, train_tags).tag}
    taggers |= {name: tagger_of(checkpoint, name) for name in checkpoint["variants"]}
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
    parser.add_argument("--train", type=int, default=6000, help="training sentences")
    parser.add_argument("--test", type=int, default=1000, help="test sentences (unseen templates and entities)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--feature-lr", type=float, default=5e-2)
    parser.add_argument("--word-size", type=int, default=48)
    parser.add_argument("--hidden-size", type=int, default=48)
    parser.add_argument("--char-hidden", type=int, default=16)
    parser.add_argument("--buckets", type=int, default=2**14)
    parser.add_argument("--variants", default=",".join(["feature-crf", *NEURAL]))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(CHECKPOINTS_DIR / "ner_en.pt"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.process_time()
    data = {"train": args.train, "test": args.test, "seed": args.seed}
    sentences = datasets(data)["train"]
    encoder = TokenEncoder.from_sentences([s for s, _ in sentences], TAGS)
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
        today = datetime.date.today().isoformat()
        described = {"test": f"lstmlib.data.entities.entity_sentences({args.test}, 'test', rng={args.seed + 1})",
                     "news": "lstmlib.data.entities.load_news_sentences()"}
        record_checkpoint(
            "ner_en.pt", script=SCRIPT, command=" ".join(["python", SCRIPT]), trained_on=today,
            cpu_minutes=cpu_minutes, note="entity F1 on exact spans (lstmlib.metrics.entity_f1), float16 weights",
            metrics={name: {"value": round(value, 4), "data": described[name.split("_")[1]],
                            "tolerance": TOLERANCE, "measured_on": today} for name, value in metrics.items()})


if __name__ == "__main__":
    main()
