"""No result from a run that is not on the page.

The book's rule (DESIGN.md, "Chapters"): every result on a page comes from a run
on that page, or from a committed file that a repository script wrote and a test
re-checks; no "in other seeds we saw ..." without the cell or file behind it.

This test reads the prose (Markdown cells) of every chapter and flags the
phrases with which a text reports runs: "other seeds", "a separate script",
"we also ran", "while preparing this chapter", "seeds 0 to 4", ... A flagged
passage passes only if ``tests/book_claims_backed.json`` lists it together with
what backs it: a string that occurs in a code cell of the same chapter (the
cell that runs those seeds), or a committed result file. Entries that no
longer match a passage fail too, so the list cannot go stale.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from book_files import ROOT, chapter_notebooks

ALLOW_LIST = Path(__file__).with_name("book_claims_backed.json")

# Phrases that report the results of runs. Case-insensitive; \s+ so that a line break
# inside a phrase still matches.
RUN_PHRASES = [
    r"\bother\s+seeds?",
    r"(?:in|with|from)\s+other\s+runs?",
    r"separate\s+script",
    r"we\s+also\s+(?:ran|trained|tried|tested|measured)",
    r"we\s+ran\s+the\s+same",
    r"we\s+repeated",
    r"while\s+(?:preparing|writing)\s+(?:this|the)\s+chapter",
    r"in\s+our\s+(?:runs|checks|experiments|tests)\s+with",
    r"\bseeds?\s+\d+\s+(?:to|through|and|-|–)\s+\d+",
    r"\bwe\s+tried\b",
    r"(?:earlier|previous|longer)\s+runs?\b",
    r"\bnot\s+shown\b",
    r"\bwe\s+did\s+\(",
    r"\bwhen\s+we\s+ran\b",
]
RUN_PHRASE = re.compile("|".join(f"(?:{p})" for p in RUN_PHRASES), re.IGNORECASE)


@dataclass(frozen=True)
class Flag:
    chapter: str  # repository path of the notebook
    cell: int  # 0-based index of the Markdown cell
    start: int  # where the phrase starts in the cell's source
    end: int
    source: str  # the cell's source

    def __str__(self) -> str:
        context = self.source[max(0, self.start - 80) : self.end + 80].replace("\n", " ")
        return f"{self.chapter}, cell {self.cell} (Markdown): «…{context}…»"


def flags_in(notebook: dict, chapter: str) -> list[Flag]:
    """Every run-reporting phrase in the Markdown cells of ``notebook``."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        found.extend(Flag(chapter, index, m.start(), m.end(), source) for m in RUN_PHRASE.finditer(source))
    return found


def code_of(notebook: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def is_backed(flag: Flag, entry: dict) -> bool:
    """Does allow-list ``entry`` cover ``flag``: same chapter, and its passage spans the phrase?"""
    if entry["chapter"] != flag.chapter:
        return False
    passage, position = entry["passage"], flag.source.find(entry["passage"])
    while position >= 0:
        if position <= flag.start and flag.end <= position + len(passage):
            return True
        position = flag.source.find(passage, position + 1)
    return False


def unbacked(notebooks: dict[str, dict], entries: list[dict]) -> list[Flag]:
    """The flagged passages of ``notebooks`` (chapter path -> notebook) that no entry covers."""
    return [
        flag
        for chapter, notebook in notebooks.items()
        for flag in flags_in(notebook, chapter)
        if not any(is_backed(flag, entry) for entry in entries)
    ]


def backing_problem(entry: dict, notebooks: dict[str, dict]) -> str | None:
    """Why ``entry`` does not hold (None if it does): its chapter, passage and backing must all exist."""
    chapter = entry.get("chapter")
    if chapter not in notebooks:
        return f"{chapter}: no such chapter"
    notebook = notebooks[chapter]
    if not any(entry["passage"] in "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"):
        return f"{chapter}: the passage {entry['passage']!r} is in no Markdown cell (stale entry?)"
    if not RUN_PHRASE.search(entry["passage"]):
        return f"{chapter}: the passage {entry['passage']!r} contains no flagged phrase (not needed)"
    if ("code" in entry) == ("file" in entry):
        return f"{chapter}: entry must name exactly one of 'code' and 'file'; got {sorted(entry)}"
    if "code" in entry and not any(entry["code"] in code for code in code_of(notebook)):
        return f"{chapter}: no code cell contains {entry['code']!r}, which should back {entry['passage']!r}"
    if "file" in entry and not (ROOT / entry["file"]).is_file():
        return f"{chapter}: the result file {entry['file']} is not in the repository"
    return None


@pytest.fixture(scope="module")
def notebooks() -> dict[str, dict]:
    return {p.relative_to(ROOT).as_posix(): json.loads(p.read_text()) for p in chapter_notebooks()}


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return json.loads(ALLOW_LIST.read_text())["backed"]


def test_no_chapter_reports_runs_it_does_not_show(notebooks, entries):
    problems = unbacked(notebooks, entries)
    assert not problems, (
        "prose that reports results of runs no cell on the page runs; run them in the chapter (a hidden "
        f"cell is fine), remove the claim, or list the passage with its backing in {ALLOW_LIST.name}:\n"
        + "\n".join(map(str, problems))
    )


def test_every_allow_list_entry_is_backed(notebooks, entries):
    problems = [p for entry in entries if (p := backing_problem(entry, notebooks))]
    assert not problems, f"{ALLOW_LIST.name}:\n" + "\n".join(problems)


# --- the check itself, on made-up chapters ----------------------------------------------------


def fake_notebook(*cells: tuple[str, str]) -> dict:
    return {"cells": [{"cell_type": kind, "source": source} for kind, source in cells]}


@pytest.mark.parametrize(
    "prose",
    [
        "With other\nseeds the LSTM did better.",
        "We ran the same code with seeds 0 to 4.",
        "A separate script found 0.3.",
        "While preparing this chapter we tried 0.01 and 0.02.",
        "In our runs with three seeds it always learned.",
        "We also trained a deeper model (not shown).",
    ],
)
def test_run_reports_are_flagged_with_chapter_and_cell(prose):
    notebook = fake_notebook(("code", "x = 1"), ("markdown", "# Title\n\n" + prose))
    problems = unbacked({"chapters/x.ipynb": notebook}, [])
    assert problems, prose
    assert str(problems[0]).startswith("chapters/x.ipynb, cell 1 (Markdown)")


def test_plain_prose_is_not_flagged():
    notebook = fake_notebook(("markdown", "We train 8 networks and count how many keep time. One seed is one draw."))
    assert unbacked({"chapters/x.ipynb": notebook}, []) == []


def test_an_entry_backs_only_its_own_passage():
    prose = "We train seeds 0 to 7 below. Elsewhere, other seeds did better."
    notebook = fake_notebook(("markdown", prose), ("code", "for seed in range(8): run(seed)"))
    entry = {"chapter": "chapters/x.ipynb", "passage": "We train seeds 0 to 7 below.", "code": "for seed in range(8)"}
    problems = unbacked({"chapters/x.ipynb": notebook}, [entry])
    assert [prose[p.start : p.end] for p in problems] == ["other seeds"]
    assert backing_problem(entry, {"chapters/x.ipynb": notebook}) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"passage": "no longer there, seeds 0 to 7"}, "stale entry"),
        ({"code": "range(99)"}, "no code cell contains"),
        ({"code": None, "file": "results/none.json"}, "not in the repository"),
        ({"passage": "We train"}, "no flagged phrase"),
    ],
)
def test_a_broken_entry_is_reported(change, message):
    notebook = fake_notebook(("markdown", "We train seeds 0 to 7 below."), ("code", "for seed in range(8): run(seed)"))
    entry = {"chapter": "chapters/x.ipynb", "passage": "We train seeds 0 to 7 below.", "code": "for seed in range(8)"}
    entry = {k: v for k, v in (entry | change).items() if v is not None}
    assert message in backing_problem(entry, {"chapters/x.ipynb": notebook})
