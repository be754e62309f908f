"""Forty-eight review sentences written for this book, to test sentiment models outside Rotten Tomatoes.

The Rotten Tomatoes snippets (:mod:`lstmlib.data.reviews`) are critics'
one-liners about films of 2002-2004. A model trained on them meets other
text in use: a reader's opinion of a series, a book, a restaurant, a phone.
These sentences were written for this book (none is taken from a review
site), half positive and half negative, on films and series (24), books
(8), food and places (8) and products (8). They mix plain praise and blame
with the cases that trouble a bag of words: negation ("not bad at all"),
contrast ("the cast is superb, but ..."), faint praise and sarcasm.
They are never used to train or choose a model, only to test one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HANDWRITTEN_REVIEWS", "handwritten_reviews"]

#: ``(sentence, label)`` pairs, 1 = positive, 0 = negative.
HANDWRITTEN_REVIEWS: tuple[tuple[str, int], ...] = (
    # films and series
    ("A warm, funny and surprisingly moving film that I would happily watch again.", 1),
    ("The second season finds its footing and becomes genuinely gripping television.", 1),
    ("Not bad at all: the script is sharp and the two leads have real chemistry.", 1),
    ("I expected a dull costume drama and instead got one of the best films of the year.", 1),
    ("The animation is gorgeous and the story will charm children and parents alike.", 1),
    ("A tense, intelligent thriller that never insults its audience.", 1),
    ("Even at three hours, the documentary never feels long.", 1),
    ("Its quiet ending stayed with me for days.", 1),
    ("The performances are so natural that you forget you are watching actors.", 1),
    ("A clever, big-hearted comedy with more laughs than most sitcoms manage in a season.", 1),
    ("Despite a slow start, the film builds to a thrilling and satisfying finale.", 1),
    ("A beautifully shot and deeply felt portrait of a family falling apart.", 1),
    ("The plot makes no sense and the jokes land with a thud.", 0),
    ("Two hours of loud explosions and wooden dialogue.", 0),
    ("I have rarely been so bored in a cinema.", 0),
    ("The cast is superb, but the script gives them nothing to do.", 0),
    ("A lazy sequel that simply repeats the first film, only worse.", 0),
    ("The twist is obvious from the first scene and the rest is padding.", 0),
    ("Not even the gorgeous scenery can save this tedious mess.", 0),
    ("The finale is rushed, confusing and strangely joyless.", 0),
    ("Every character is a cliche and every scene drags.", 0),
    ("It wants to be profound but ends up pretentious and dull.", 0),
    ("The show lost its spark this season and I stopped caring about anyone in it.", 0),
    ("A forgettable film that wastes a talented director.", 0),
    # books
    ("A gripping novel with characters I will miss now that it is over.", 1),
    ("Her prose is clear, witty and a pleasure to read aloud.", 1),
    ("The best history of the subject I have read, and never dry.", 1),
    ("A wise and tender memoir that made me laugh and cry.", 1),
    ("The book is far too long and the ending is a letdown.", 0),
    ("I gave up halfway: the characters are flat and nothing happens.", 0),
    ("Clumsy writing and a predictable mystery.", 0),
    ("The author never explains why any of this should matter.", 0),
    # food and places
    ("The pasta was perfect and the staff could not have been friendlier.", 1),
    ("A lovely little hotel with spotless rooms and a wonderful view.", 1),
    ("Fresh, generous and fairly priced; we will definitely be back.", 1),
    ("The museum's new wing is a delight, full of surprises for every age.", 1),
    ("The soup was cold, the service was rude and the bill was enormous.", 0),
    ("Overpriced and disappointing; the photos online are misleading.", 0),
    ("We waited an hour for a table and the food was bland.", 0),
    ("The room smelled of smoke and the walls were paper thin.", 0),
    # products
    ("The battery lasts all day and the screen is bright and sharp.", 1),
    ("Easy to set up, quiet, and it works exactly as promised.", 1),
    ("Well made, comfortable and worth every penny.", 1),
    ("A great little game that is simple to learn and hard to put down.", 1),
    ("It broke after a week and customer support ignored my emails.", 0),
    ("The instructions are useless and the parts do not fit together.", 0),
    ("Slow, buggy and full of annoying advertisements.", 0),
    ("Cheap plastic that feels like it will fall apart any minute.", 0),
)


def handwritten_reviews() -> tuple[list[str], np.ndarray]:
    """``(texts, labels)``: the 48 sentences and their int64 labels ``(48,)`` (1 = positive)."""
    texts = [text for text, _ in HANDWRITTEN_REVIEWS]
    return texts, np.array([label for _, label in HANDWRITTEN_REVIEWS], dtype=np.int64)
