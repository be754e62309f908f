"""Bibliography labels that read like the citations: "Hochreiter and Schmidhuber, 1997", not "[12]".

The book cites author-year (``bibtex_reference_style: author_year``); pybtex's styles label the
entries of the bibliography with numbers or "HS97", so a reader who followed a citation landed on a
label that named neither. :class:`AuthorYearLabels` writes the citation's own words; two works
with the same words get "a", "b" after the year. ``plain_author_year`` is pybtex's ``plain``
formatting style with these labels (``bibtex_default_style`` in _config.yml).
"""

from __future__ import annotations

from collections import Counter
from string import ascii_lowercase

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STYLE = "plain_author_year"


def last_names(person) -> str:
    """"van den Oord": the particles and last names, as plain text (LaTeX accents resolved)."""
    return " ".join(str(name) for name in (*person.rich_prelast_names, *person.rich_last_names))


def author_year(entry) -> str:
    """"Last", "Last and Other" or "Last et al.", then ", year", as the author_year citations read."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [last_names(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            if repeated[label] > 1:
                seen[label] += 1
                yield label + ascii_lowercase[seen[label] - 1]
            else:
                yield label


class PlainAuthorYear(PlainStyle):
    default_label_style = "author_year"


def register() -> None:
    register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", STYLE, PlainAuthorYear)
