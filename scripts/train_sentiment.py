"""Train the sentiment models of Part III on the Rotten Tomatoes snippets: the comparison, and the shipped model.

Three products, all from one run (``make checkpoints NAME=sentiment``):

1. ``lstmlib/checkpoints/sentiment_rt_comparison.json`` -- on one split by
   film (:func:`lstmlib.data.reviews.split_by_film`, seed 0): the test
   accuracy with a 95% interval of the majority class, TF-IDF (1-2-grams)
   + logistic regression (``C`` chosen on validation) and six LSTM
   classifiers (LSTM or BiLSTM x last state, max-pooling or attention
   pooling), each with its test predictions (so the chapter can break the
   results down and a test can recompute every number); and on the
   hand-written sentences of :mod:`lstmlib.data.handwritten_reviews`, the
   shipped model beside TF-IDF + LR trained on the same (all) snippets.
2. ``lstmlib/checkpoints/sentiment_rt_split.pt`` -- the BiLSTM with
   attention pooling trained on the training films with three seeds
   (the first is the one in the comparison): the models the chapter
   *Is attention an explanation?* opens up, on test films they never saw.
3. ``lstmlib/checkpoints/sentiment_rt.pt`` -- the shipped model,
   ``lstmlib.pretrained.load("sentiment-rt")``: the same architecture trained
   on all the snippets, an ensemble of ``--ensemble`` seeds.

Every model trains for ``--epochs`` epochs (no early stopping: the
comparison is of architectures at one budget, and the shipped model has no
held-out data to stop on) with Adam, batches of 32 and gradient clipping.
Word dropout (a training word read as ``<unk>`` with probability 0.25)
prepares the models for the unknown words of text from elsewhere. Weights
are saved in float16 and the metrics measured on those saved weights;
``tests/test_checkpoints.py`` re-measures them with :func:`measure`, and
``tests/test_sentiment.py`` recomputes the comparison file's numbers.

Usage:  python scripts/train_sentiment.py [--epochs 6] [--ensemble 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from lstmlib.data.handwritten_reviews import handwritten_reviews
from lstmlib.data.reviews import DATA_NOTE, ReviewSet, load_reviews, split_by_film
from lstmlib.metrics import accuracy_interval
from lstmlib.models.bag_of_words import choose_c, fit_tfidf_logistic
from lstmlib.models.sentiment import SentimentClassifier, SentimentConfig, SentimentLSTM, encode_texts, review_tokens
from lstmlib.pretrained import CHECKPOINTS_DIR, record_checkpoint
from lstmlib.text import WordVocab, pad_batch
from lstmlib.train import seed_everything, train

SCRIPT = "scripts/train_sentiment.py"
SHIPPED_FILE, SPLIT_FILE = "sentiment_rt.pt", "sentiment_rt_split.pt"
COMPARISON_FILE = CHECKPOINTS_DIR / "sentiment_rt_comparison.json"
#: The split every comparison uses (film shares train / validation / test, and the seed).
SPLIT = {"fractions": (0.7, 0.1, 0.2), "rng": 0}
#: A word enters the vocabulary if it occurs this often in the training snippets.
MIN_COUNT = 3
#: The sizes shared by every LSTM classifier here.
SIZES = dict(embed_size=32, hidden_size=64, attention_size=32, dropout=0.5, word_dropout=0.25)
#: The six classifiers of the comparison: name -> (bidirectional, pooling).
VARIANTS = {
    "LSTM, last state": (False, "last"),
    "LSTM, max-pooling": (False, "max"),
    "LSTM, attention": (False, "attention"),
    "BiLSTM, last state": (True, "last"),
    "BiLSTM, max-pooling": (True, "max"),
    "BiLSTM, attention": (True, "attention"),
}
#: The architecture of the shipped model and of the attention chapter's models.
SHIPPED_VARIANT = "BiLSTM, attention"
ATTENTION_SEEDS = (0, 1, 2)
#: How close a re-measured accuracy must come (float rounding can flip a near-tie prediction).
TOLERANCE = 0.005


def build_vocab(texts, min_count: int = MIN_COUNT) -> WordVocab:
    """The words of ``texts`` seen at least ``min_count`` times, most frequent first."""
    return WordVocab.from_tokens([review_tokens(text) for text in texts], min_count=min_count)


def fit(config: SentimentConfig, encoded: list[np.ndarray], labels: np.ndarray, *, epochs: int, seed: int,
        batch_size: int = 32, lr: float = 2e-3, progress=None) -> SentimentLSTM:
    """A :class:`SentimentLSTM` of ``config`` trained on ``encoded`` texts and ``labels`` for ``epochs`` epochs.

    Each epoch visits every example once in a fresh order drawn from ``seed``.
    """
    seed_everything(seed)
    model = SentimentLSTM(config)
    rng = np.random.default_rng(seed)
    steps_per_epoch = len(encoded) // batch_size
    targets = torch.from_numpy(labels)
    order = rng.permutation(len(encoded))

    def loss_fn(step: int) -> torch.Tensor:
        nonlocal order
        k = step % steps_per_epoch
        if k == 0 and step:
            order = rng.permutation(len(encoded))
        batch = order[k * batch_size:(k + 1) * batch_size]
        ids, lengths = pad_batch([encoded[i] for i in batch])
        return F.cross_entropy(model(ids, lengths), targets[batch])

    train(model, loss_fn, steps=epochs * steps_per_epoch, lr=lr, clip=1.0,
          on_step=None if progress is None else lambda step, loss: progress.update(1))
    return rounded(model)


def rounded(model: SentimentLSTM) -> SentimentLSTM:
    """A float32 copy of ``model`` (eval mode) whose weights went through float16, as the checkpoints store them."""
    copy = SentimentLSTM(model.config)
    copy.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    return copy.eval()


def checkpoint_of(models: list[SentimentLSTM], vocab: WordVocab, **record) -> dict:
    """What the checkpoint files hold: float16 weights, the config, the vocabulary and ``record``."""
    return {"state_dicts": [{k: v.half() for k, v in model.state_dict().items()} for model in models],
            "config": models[0].config.to_dict(), "tokens": vocab.tokens, **record}


def split_data() -> dict[str, ReviewSet]:
    """The comparison's split by film."""
    return split_by_film(load_reviews(), **SPLIT)


def measure(checkpoint: dict) -> dict[str, float]:
    """The metrics the manifest records for ``checkpoint`` (either file), measured on its saved weights.

    The shipped model: accuracy on the hand-written sentences and on all the
    snippets it was trained on. The split models: test accuracy of each seed.
    """
    classifier = SentimentClassifier.from_checkpoint(checkpoint)
    if checkpoint["trained_on_split"]:
        test = split_data()["test"]
        return {f"test_accuracy_seed{seed}": float((SentimentClassifier([model], classifier.vocab)
                                                    .predict(list(test.texts)) == test.labels).mean())
                for seed, model in zip(checkpoint["seeds"], classifier.models)}
    texts, labels = handwritten_reviews()
    snippets = load_reviews()
    return {"handwritten_accuracy": float((classifier.predict(texts) == labels).mean()),
            "training_accuracy": float((classifier.predict(list(snippets.texts)) == snippets.labels).mean())}


def manifest_metrics(checkpoint: dict) -> dict[str, dict]:
    """:func:`measure`'s values with the data they were measured on, the tolerance and today's date."""
    today = datetime.date.today().isoformat()
    data = {"handwritten_accuracy": "lstmlib.data.handwritten_reviews.handwritten_reviews()",
            "training_accuracy": "lstmlib.data.reviews.load_reviews() (the training data)"}
    split_test = f"lstmlib.data.reviews.split_by_film(load_reviews(), **{SPLIT})['test']"
    return {name: {"value": round(value, 4), "data": data.get(name, split_test), "tolerance": TOLERANCE,
                   "measured_on": today} for name, value in measure(checkpoint).items()}


def predictions_string(predictions: np.ndarray) -> str:
    """Labels ``(N,)`` as one string of 0s and 1s (compact in JSON)."""
    return "".join(map(str, predictions.astype(int).tolist()))


def scored(predictions: np.ndarray, labels: np.ndarray, **extra) -> dict:
    """A comparison entry: accuracy, its 95% interval and the predictions."""
    accuracy, low, high = accuracy_interval(predictions == labels)
    return {"accuracy": round(accuracy, 4), "interval95": [round(low, 4), round(high, 4)],
            "predictions": predictions_string(predictions), **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--ensemble", type=int, default=3, help="seeds averaged in the shipped model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start_cpu = time.process_time()
    command = " ".join(["python", SCRIPT, *sys.argv[1:]])
    today = datetime.date.today().isoformat()

    parts = split_data()
    train_set, valid_set, test_set = parts["train"], parts["validation"], parts["test"]
    vocab = build_vocab(train_set.texts)
    encoded = encode_texts(vocab, list(train_set.texts))
    test_encoded = encode_texts(vocab, list(test_set.texts))

    # Baselines on the split: majority class of the training films; TF-IDF + LR with C chosen on validation.
    majority = int(train_set.labels.mean() >= 0.5)
    best_c, c_scores = choose_c(train_set.texts, train_set.labels, valid_set.texts, valid_set.labels)
    tfidf = fit_tfidf_logistic(train_set.texts, train_set.labels, C=best_c)
    results = {
        "majority": scored(np.full(len(test_set), majority), test_set.labels, label=majority),
        "TF-IDF + LR": scored(tfidf.predict(list(test_set.texts)), test_set.labels, C=best_c,
                              validation_accuracy_by_C={str(c): round(v, 4) for c, v in c_scores.items()}),
    }

    total_steps = (len(VARIANTS) + len(ATTENTION_SEEDS) - 1) * args.epochs * (len(encoded) // 32)
    bar = tqdm(total=total_steps, unit="step", desc="sentiment (split)", dynamic_ncols=True)
    attention_models = []
    for name, (bidirectional, pooling) in VARIANTS.items():
        config = SentimentConfig(len(vocab), bidirectional=bidirectional, pooling=pooling, **SIZES)
        cpu = time.process_time()
        model = fit(config, encoded, train_set.labels, epochs=args.epochs, seed=ATTENTION_SEEDS[0], progress=bar)
        cpu = time.process_time() - cpu
        classifier = SentimentClassifier([model], vocab)
        results[name] = scored(classifier.predict(list(test_set.texts)), test_set.labels,
                               cpu_seconds=round(cpu, 1), parameters=sum(p.numel() for p in model.parameters()))
        bar.write(f"{name:22s} test accuracy {results[name]['accuracy']:.3f}  ({cpu:.0f} CPU s)")
        if name == SHIPPED_VARIANT:
            attention_models.append(model)
    for seed in ATTENTION_SEEDS[1:]:
        attention_models.append(fit(attention_models[0].config, encoded, train_set.labels, epochs=args.epochs,
                                    seed=seed, progress=bar))
    bar.close()
    del test_encoded

    split_checkpoint = checkpoint_of(attention_models, vocab, trained_on_split=True, seeds=list(ATTENTION_SEEDS),
                                     split=SPLIT, epochs=args.epochs, date=today)
    torch.save(split_checkpoint, CHECKPOINTS_DIR / SPLIT_FILE)

    # The shipped model: the same architecture on every snippet, an ensemble of seeds.
    snippets = load_reviews()
    full_vocab = build_vocab(snippets.texts)
    full_encoded = encode_texts(full_vocab, list(snippets.texts))
    bidirectional, pooling = VARIANTS[SHIPPED_VARIANT]
    config = SentimentConfig(len(full_vocab), bidirectional=bidirectional, pooling=pooling, **SIZES)
    bar = tqdm(total=args.ensemble * args.epochs * (len(full_encoded) // 32), unit="step", desc="sentiment (all)")
    shipped = [fit(config, full_encoded, snippets.labels, epochs=args.epochs, seed=seed, progress=bar)
               for seed in range(args.ensemble)]
    bar.close()
    cpu_minutes = round((time.process_time() - start_cpu) / 60, 1)
    shipped_checkpoint = checkpoint_of(shipped, full_vocab, trained_on_split=False, seeds=list(range(args.ensemble)),
                                       epochs=args.epochs, date=today, data_note=DATA_NOTE)
    torch.save(shipped_checkpoint, CHECKPOINTS_DIR / SHIPPED_FILE)

    # Outside Rotten Tomatoes: the shipped model and TF-IDF + LR trained on the same (all) snippets.
    texts, labels = handwritten_reviews()
    tfidf_all = fit_tfidf_logistic(snippets.texts, snippets.labels, C=best_c)
    shipped_classifier = SentimentClassifier.from_checkpoint(shipped_checkpoint)
    handwritten = {
        "sentiment-rt": scored(shipped_classifier.predict(texts), labels),
        "TF-IDF + LR": scored(tfidf_all.predict(texts), labels, C=best_c),
        "sentiment-rt, one seed": scored(SentimentClassifier(shipped[:1], full_vocab).predict(texts), labels),
    }

    comparison = {
        "made_by": command, "date": today, "data": DATA_NOTE, "split": SPLIT,
        "sizes": {part: len(subset) for part, subset in parts.items()},
        "films": {part: len(set(subset.films)) for part, subset in parts.items()},
        "vocabulary": len(vocab), "epochs": args.epochs, "settings": SIZES,
        "test": results, "handwritten": handwritten, "cpu_minutes": cpu_minutes,
    }
    COMPARISON_FILE.write_text(json.dumps(comparison, indent=1) + "\n", encoding="utf-8")
    for filename, checkpoint in ((SPLIT_FILE, split_checkpoint), (SHIPPED_FILE, shipped_checkpoint)):
        entry = record_checkpoint(filename, script=SCRIPT, command=command, trained_on=today,
                                  cpu_minutes=cpu_minutes, metrics=manifest_metrics(checkpoint),
                                  note="cpu_minutes is the whole run (comparison, split models and shipped model)")
        print(f"recorded {filename}: " + ", ".join(f"{k} {v['value']}" for k, v in entry["metrics"].items()))
    for name, entry in {**results, **{f"handwritten {k}": v for k, v in handwritten.items()}}.items():
        print(f"{name:28s} {entry['accuracy']:.3f}  [{entry['interval95'][0]:.3f}, {entry['interval95'][1]:.3f}]")


if __name__ == "__main__":
    main()
