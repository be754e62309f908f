"""Sentences with named entities (persons, places, organisations), tagged in BIO, for named-entity recognition.

No freely redistributable English NER corpus ships with the book's packages,
so the training data is generated: news-style sentence templates written for
the book, their slots filled with names, places and companies from
``faker`` in six locales (US and British English, German, French, Spanish,
Italian; towns from the first five), plus organisation patterns (universities, clubs, banks, agencies,
acronyms) built from faker's names and places. (Faker company names that are
a bare surname are skipped: nothing in them says "company".)

Held out twice: the templates are split into training and test templates,
and every entity string is assigned to one side by a hash of its text, so a
test sentence has a sentence frame *and* names the model never saw.
(Single words can still recur: the first name of one test person may be
part of a training name.)

* :func:`entity_sentences` -- ``n`` tagged sentences ``(tokens, tags)`` from one side.
* :func:`load_news_sentences` -- about fifty ordinary news sentences written
  and annotated for the book (real countries, companies and people), a test
  of whether a tagger trained on templates reads real text.
* :data:`TAGS` -- the BIO tags, ``O`` first.

Tags: ``B-X`` starts an entity of type X, ``I-X`` continues it, ``O`` is
outside any entity. Dates, days, months, nationalities and titles are ``O``.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from lstmlib._checks import check_choice, check_positive_int, check_rng
from lstmlib.text import tokenize

__all__ = ["ENTITY_TYPES", "TAGS", "entity_pools", "entity_sentences", "load_news_sentences", "parse_bracketed",
           "template_split"]

ENTITY_TYPES = ("PER", "LOC", "ORG")
#: Every BIO tag, ``O`` first (id 0).
TAGS = ("O",) + tuple(f"{prefix}-{kind}" for kind in ENTITY_TYPES for prefix in ("B", "I"))
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
NEWS_FILE = Path(__file__).resolve().parent / "news_entities.txt"

# Slots: {PER} a full name, {LAST} a surname alone (a person), {LOC} a city, region or country, {ORG} an
# organisation; the others fill in words that are never entities: {DAY}, {MONTH}, {NAT} (a nationality),
# {NUM}, {YEAR}, {TITLE}.
TRAIN_TEMPLATES = (
    "{PER} was born in {LOC} in {YEAR} .",
    "{PER} , the chief executive of {ORG} , resigned on {DAY} .",
    "Shares in {ORG} fell {NUM} percent on {DAY} after the company cut its forecast .",
    "{ORG} said it would open a new factory near {LOC} next year .",
    "The {NAT} government has asked {ORG} to explain the delay .",
    "{TITLE} {LAST} told reporters in {LOC} that talks would continue .",
    "Police in {LOC} arrested {NUM} people on {DAY} night .",
    "{PER} scored twice as {ORG} beat {ORG} {NUM} - {NUM} .",
    "In {MONTH} , {ORG} agreed to buy {ORG} for {NUM} million euros .",
    "Heavy rain flooded parts of {LOC} and {LOC} over the weekend .",
    "{PER} , a {NAT} economist , joined {ORG} in {YEAR} .",
    "According to {ORG} , exports from {LOC} rose sharply in {MONTH} .",
    "The mayor of {LOC} , {PER} , opened the new bridge on {DAY} .",
    "{LAST} said the decision was taken by the board of {ORG} .",
    "Thousands of fans travelled from {LOC} to watch the final .",
    "{ORG} will cut {NUM} jobs in {LOC} , a spokesman said .",
    "{PER} has been named coach of {ORG} .",
    "The talks between {LOC} and {LOC} ended without an agreement on {DAY} .",
    "Researchers at {ORG} published the study in {MONTH} {YEAR} .",
    "{TITLE} {PER} arrived in {LOC} on {DAY} for a two-day visit .",
    "{PER} and {PER} will meet in {LOC} next {MONTH} .",
    "The {NAT} minister praised {ORG} for its work in {LOC} .",
    "A spokeswoman for {ORG} declined to comment .",
    "Prices in {LOC} climbed {NUM} percent in the year to {MONTH} .",
    "{ORG} , based in {LOC} , reported a loss for the third quarter .",
    "Last {DAY} , {LAST} won the race in {LOC} .",
    "The festival in {LOC} drew {NUM} visitors this year .",
    "{PER} left {ORG} after {NUM} years to work for {ORG} .",
    "Officials in {LOC} said the road would reopen on {DAY} .",
    "The court in {LOC} fined {ORG} {NUM} million dollars on {DAY} .",
    "{PER} won the election in {LOC} with {NUM} percent of the vote .",
    "Voters in {LOC} go to the polls in {MONTH} .",
    "{ORG} and {ORG} have signed a deal to share research .",
    "{PER} , who grew up in {LOC} , now lives in {LOC} .",
    "The new stadium of {ORG} will hold {NUM} people .",
    "On {DAY} {MONTH} {NUM} , {PER} visited {ORG} .",
    "Flights between {LOC} and {LOC} were cancelled on {DAY} .",
    "{TITLE} {LAST} of {ORG} said growth would slow .",
    "It was the first time since {YEAR} that {ORG} had won the title .",
    "Both companies expect the merger to close in {MONTH} .",
    "The price of oil fell again on {DAY} .",
    "{ORG} hired {PER} to lead its office in {LOC} .",
    "Students at {ORG} protested against higher fees on {DAY} .",
    "{PER} told {ORG} that the plan had been dropped .",
    "The {NAT} team arrived in {LOC} late on {DAY} .",
)
TEST_TEMPLATES = (
    "{PER} , who founded {ORG} in {YEAR} , died in {LOC} on {DAY} .",
    "Investors sold shares of {ORG} after {PER} warned of weaker sales .",
    "A storm hit the coast of {LOC} early on {DAY} morning .",
    "{ORG} confirmed on {DAY} that {PER} would step down in {MONTH} .",
    "The {NAT} prime minister flew to {LOC} to meet {PER} .",
    "{LAST} , {NUM} , has played for {ORG} since {YEAR} .",
    "Workers at the {ORG} plant in {LOC} went on strike .",
    "{TITLE} {LAST} met the leaders of {LOC} and {LOC} in {MONTH} .",
    "Tourism in {LOC} grew by {NUM} percent last year , {ORG} said .",
    "{PER} will sign for {ORG} when the season ends in {MONTH} .",
    "The ambassador of {LOC} was summoned on {DAY} .",
    "Engineers from {ORG} repaired the line between {LOC} and {LOC} .",
    "{PER} praised the {NAT} players after the match .",
    "Sales at {ORG} doubled in {YEAR} , said {PER} .",
    "Schools across {LOC} will stay closed until {DAY} .",
    "Unemployment in {LOC} fell to {NUM} percent in {MONTH} .",
)

# Training sentences only: a template that starts with a slot may get an opening phrase, and one may end in
# an attribution, so that the same frame appears in several forms.
_OPENINGS = ("On {DAY} ,", "In {MONTH} ,", "Last year ,", "Earlier this week ,", "In {YEAR} ,", "Meanwhile ,",
             "According to {ORG} ,", "Speaking in {LOC} ,", "As expected ,", "On {DAY} {MONTH} {NUM} ,")
_ATTRIBUTIONS = (", {PER} said .", ", officials in {LOC} said .", ", a spokesman for {ORG} said .",
                 ", sources said .", ", {TITLE} {LAST} said .", ", the {NAT} press reported .")

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_NATIONALITIES = ("French", "German", "Italian", "Spanish", "British", "American", "Canadian", "Dutch", "Polish",
                  "Swedish", "Japanese", "Chinese", "Indian", "Brazilian", "Mexican", "Irish", "Greek", "Turkish",
                  "Russian", "Australian", "Belgian", "Swiss", "Austrian", "Portuguese", "Norwegian", "Danish")
_TITLES = ("Mr", "Mrs", "Ms", "Dr", "President", "Senator", "Minister", "Professor", "General", "Judge")
# Organisation patterns from faker's places and names: "{city}" and "{last}" are filled in.
_ORG_PATTERNS = ("University of {city}", "{city} University", "{city} United", "{city} FC", "FC {city}",
                 "{city} City Council", "{last} Motors", "{last} Bank", "Bank of {city}", "{last} Group",
                 "{city} Institute of Technology", "{last} Airlines", "{city} Chamber of Commerce",
                 "{last} & {last}", "{last} Foods", "{city} Police", "{last} Energy", "{city} Rovers")


def _named_company(fake) -> str:
    """A faker company name with more than a bare surname in it ("Rossi" alone says nothing of a company)."""
    while True:
        name = fake.company()
        if len(tokenize(name)) > 1:
            return name


def _hash_side(text: str) -> str:
    """``"test"`` for about a quarter of entity strings, ``"train"`` for the rest, the same on every machine."""
    return "test" if zlib.crc32(text.encode("utf-8")) % 4 == 0 else "train"


@lru_cache(maxsize=4)
def entity_pools(seed: int = 0, per_type: int = 4000) -> dict[str, dict[str, tuple[tuple[str, ...], ...]]]:
    """``{side: {slot: (entity tokens, ...)}}`` for ``side`` in train/test and ``slot`` in PER, LAST, LOC, ORG.

    Drawn from faker (``per_type`` draws per slot, duplicates dropped) and
    split by a hash of each string, so the two sides share no entity.
    """
    from faker import Faker  # imported here: loading a trained tagger needs no faker

    # one seeded Faker per locale, and our own generator to pick among them: a multi-locale Faker draws
    # some choices from Python's global `random`, which would make the pools differ from run to run
    fakes = {locale: Faker(locale) for locale in LOCALES}
    for k, locale in enumerate(LOCALES):
        fakes[locale].seed_instance(seed * 100 + k)
    rng = np.random.default_rng(seed)

    def fake():
        return fakes[LOCALES[rng.integers(len(LOCALES))]]

    def city():  # faker's it_IT cities come from a set, in an order that changes with PYTHONHASHSEED
        return fakes[LOCALES[rng.integers(len(LOCALES) - 1)]].city()

    draws = {
        "PER": lambda: f"{fake().first_name()} {fake().last_name()}",
        "LAST": lambda: fake().last_name(),
        "LOC": lambda: (city() if rng.random() < 0.6 else
                        fakes["en_US"].country() if rng.random() < 0.6 else
                        fakes["en_US"].state() if rng.random() < 0.5 else fakes["fr_FR"].region()),
        "ORG": lambda: (_named_company(fake()) if rng.random() < 0.45 else
                        "".join(rng.choice(list("ABCDEFGHIJKLMNOPRSTUVW"), size=int(rng.integers(2, 5))))
                        if rng.random() < 0.2 else
                        str(rng.choice(_ORG_PATTERNS)).format(city=city(), last=fake().last_name())),
    }
    pools: dict[str, dict[str, list]] = {"train": {}, "test": {}}
    for slot, draw in draws.items():
        seen = dict.fromkeys(draw() for _ in range(per_type))  # first-seen order, deterministic
        for side in pools:
            pools[side][slot] = tuple(tuple(tokenize(text)) for text in seen if _hash_side(text) == side)
    return {side: dict(slots) for side, slots in pools.items()}


def template_split(side: str) -> tuple[str, ...]:
    """The templates of ``side`` (``"train"`` or ``"test"``); the two share none."""
    check_choice("side", side, ["train", "test"])
    return TRAIN_TEMPLATES if side == "train" else TEST_TEMPLATES


def _vary(template: str, gen: np.random.Generator) -> str:
    """A training template with, sometimes, an opening phrase and a closing attribution."""
    if template.startswith("{") and gen.random() < 0.3:
        template = f"{_OPENINGS[gen.integers(len(_OPENINGS))]} {template}"
    if template.endswith(" .") and gen.random() < 0.25:
        template = template[:-2] + " " + _ATTRIBUTIONS[gen.integers(len(_ATTRIBUTIONS))]
    return template


def _fill(template: str, pools: dict, gen: np.random.Generator,
          random_types: bool = False) -> tuple[list[str], list[str]]:
    """One sentence from ``template``: its tokens and BIO tags; ``random_types`` redraws each entity slot's type."""
    tokens: list[str] = []
    tags: list[str] = []
    for piece in re.split(r"(\{[A-Z]+\})", template):
        slot = piece[1:-1] if piece.startswith("{") else None
        if slot in ("PER", "LAST", "LOC", "ORG") and random_types:
            slot = ("PER", "LAST", "LOC", "ORG")[gen.integers(4)]
        if slot in ("PER", "LAST", "LOC", "ORG"):
            kind = "PER" if slot == "LAST" else slot
            words = list(pools[slot][gen.integers(len(pools[slot]))])
            tokens += words
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
            continue
        if slot is not None:
            words = [{"DAY": lambda: str(gen.choice(_DAYS)), "MONTH": lambda: str(gen.choice(_MONTHS)),
                      "NAT": lambda: str(gen.choice(_NATIONALITIES)), "TITLE": lambda: str(gen.choice(_TITLES)),
                      "NUM": lambda: str(int(gen.integers(2, 500))),
                      "YEAR": lambda: str(int(gen.integers(1950, 2030)))}[slot]()]
        else:
            words = tokenize(piece)
        tokens += words
        tags += ["O"] * len(words)
    return tokens, tags


def entity_sentences(n: int, side: str = "train", rng=None, *, seed: int = 0,
                     random_types: float = 0.0) -> list[tuple[list[str], list[str]]]:
    """``n`` sentences ``(tokens, tags)`` from the templates and entities of ``side``.

    ``rng`` (None, an int seed or a Generator) picks templates and fillers;
    ``seed`` fixes the entity pools (:func:`entity_pools`). A sentence's
    tags are BIO strings from :data:`TAGS`, one per token. Training
    sentences (``side="train"``) vary their templates with opening phrases
    and closing attributions; test sentences use their templates as written.

    ``random_types`` (training augmentation, in [0, 1]) is the share of
    sentences whose entity slots each take a random type ("Shares in Ada
    Lovelace fell"): in those, the type can only be read from the name
    itself, which keeps a tagger from deciding by the frame alone.
    """
    n = check_positive_int("n", n)
    templates = template_split(side)
    gen = check_rng("rng", rng)
    if not isinstance(random_types, (int, float)) or not 0 <= random_types <= 1:
        raise ValueError(f"random_types must be a share in [0, 1]; got {random_types!r}")
    pools = entity_pools(seed)[side]
    sentences = []
    for _ in range(n):
        template = templates[gen.integers(len(templates))]
        if side == "train":
            template = _vary(template, gen)
        sentences.append(_fill(template, pools, gen, random_types=bool(gen.random() < random_types)))
    return sentences


_BRACKET = re.compile(r"\[(PER|LOC|ORG) ([^\]]+)\]")


def parse_bracketed(line: str) -> tuple[list[str], list[str]]:
    """``"[PER Ada Lovelace] met [ORG IBM] ."`` as tokens and BIO tags (entities in brackets, the rest ``O``)."""
    if not isinstance(line, str):
        raise TypeError(f"line must be a str; got {type(line).__name__}")
    tokens: list[str] = []
    tags: list[str] = []
    at = 0
    for match in _BRACKET.finditer(line):
        outside = tokenize(line[at:match.start()])
        tokens += outside
        tags += ["O"] * len(outside)
        words = tokenize(match.group(2))
        tokens += words
        tags += [f"B-{match.group(1)}"] + [f"I-{match.group(1)}"] * (len(words) - 1)
        at = match.end()
    rest = tokenize(line[at:])
    if "[" in line[at:] or "]" in line[at:]:
        raise ValueError(f"line has a bracket that is not an entity '[TYPE words]': {line!r}")
    return tokens + rest, tags + ["O"] * len(rest)


def load_news_sentences() -> list[tuple[list[str], list[str]]]:
    """The book's news sentences (``news_entities.txt``, one per line, entities in brackets) as ``(tokens, tags)``."""
    lines = NEWS_FILE.read_text(encoding="utf-8").splitlines()
    return [parse_bracketed(line) for line in lines if line.strip() and not line.startswith("#")]
