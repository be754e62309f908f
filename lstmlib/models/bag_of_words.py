"""The linear baseline of the sentiment chapter: TF-IDF weighted unigrams and bigrams + logistic regression.

scikit-learn does the work (``TfidfVectorizer`` and ``LogisticRegression``);
the words are the ones our LSTM reads
(:func:`lstmlib.models.sentiment.review_tokens`: lower-cased, curly apostrophes straightened), so the two models see the
same tokens. ``sublinear_tf`` counts a repeated word as ``1 + log(count)``.
The regularisation strength ``C`` is the one setting; :func:`choose_c`
picks it on validation data, never on the test set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from lstmlib._checks import check_positive_number
from lstmlib.models.sentiment import review_tokens

__all__ = ["C_GRID", "choose_c", "fit_tfidf_logistic"]

#: The values of ``C`` (inverse regularisation strength) that :func:`choose_c` tries.
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)


def fit_tfidf_logistic(texts: Sequence[str], labels, *, C: float = 10.0) -> Pipeline:
    """A TF-IDF (1-2-gram) + logistic regression pipeline fitted on ``texts`` and ``labels (N,)`` (0/1).

    The result has ``predict(texts) -> (N,)`` and ``predict_proba(texts) -> (N, 2)``.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise TypeError(f"texts must be a non-empty list of str; got {type(texts).__name__}")
    labels = np.asarray(labels)
    if labels.shape != (len(texts),) or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be {len(texts)} values 0 or 1, one per text; got shape {labels.shape}")
    C = check_positive_number("C", C)
    pipeline = Pipeline([
        ("tfidf", TfidfVectorizer(tokenizer=review_tokens, token_pattern=None, lowercase=False,
                                  ngram_range=(1, 2), sublinear_tf=True)),
        ("logistic", LogisticRegression(C=C, max_iter=2000)),
    ])
    return pipeline.fit(list(texts), labels)


def choose_c(train_texts: Sequence[str], train_labels, valid_texts: Sequence[str], valid_labels,
             grid: Sequence[float] = C_GRID) -> tuple[float, dict[float, float]]:
    """``(best C, {C: validation accuracy})``: each C of ``grid`` fitted on train, scored on validation.

    A tie goes to the smaller C (the stronger regularisation).
    """
    scores = {float(C): float((fit_tfidf_logistic(train_texts, train_labels, C=C).predict(list(valid_texts))
                               == np.asarray(valid_labels)).mean()) for C in grid}
    return max(scores, key=lambda C: (scores[C], -C)), scores
