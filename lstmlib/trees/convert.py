"""Trees written by hand, as nested tuples or a bracketed string, turned into ``(tokens, parent)``.

Both formats number the nodes in pre-order: a node comes before its subtree and
the subtrees follow one another left to right. So the root is node 0, and the
children of a node are in increasing index order, left to right, which is the
child order the N-ary Tree-LSTM uses.

* Nested tuples: ``("+", ("*", 2, 3), 4)`` is the tree of ``2 * 3 + 4``. A node
  is a tuple (or list) ``(label, child, child, ...)``; anything else that is a
  string or a number is a leaf.
* Bracketed strings (the Penn Treebank's form): ``"(S (NP the cat) (VP sat))"``;
  a node is ``(label child ...)``, a bare word is a leaf.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np

__all__ = ["tree_from_bracketed", "tree_from_nested"]

_LEAF_TYPES = (str, numbers.Number)


def _check_label(label: Any, where: str, what: str) -> None:
    if not isinstance(label, _LEAF_TYPES):
        raise TypeError(f"{where} must be {what}; got {type(label).__name__} {label!r}")


def tree_from_nested(tree: Any) -> tuple[list[Any], np.ndarray]:
    """Turn a tree of nested tuples into ``(tokens, parent)``, nodes in pre-order.

    ``("+", ("*", 2, 3), 4)`` gives ``tokens = ["+", "*", 2, 3, 4]`` and
    ``parent = [-1, 0, 1, 1, 0]``. A node is a tuple or list whose first item
    is its label (a str or a number) and whose other items are its children; a
    str or number on its own is a leaf.

    Tuples are values: a subtree written once and used twice, ``t = (...)``,
    ``("*", t, t)``, is simply copied (Python may even share equal tuples
    without being asked). A *list* is an object with an identity, so a list
    met twice is rejected: either it sits under two parents, or it contains
    itself (a cycle, which would never end).
    """
    tokens: list[Any] = []
    parent: list[int] = []
    list_index: dict[int, int] = {}  # id(list) -> its node index, to catch a list met twice
    stack = [(tree, -1, "tree")]  # (object, its parent's index, where it sits, for messages)
    while stack:
        obj, up, where = stack.pop()
        index = len(tokens)
        if isinstance(obj, list):
            if id(obj) in list_index:
                first = list_index[id(obj)]
                ancestor = up
                while ancestor not in (-1, first):
                    ancestor = parent[ancestor]
                if ancestor == first:
                    raise ValueError(f"{where} is the list of node {first}, one of its own ancestors: "
                                     f"the tree has a cycle")
                raise ValueError(f"{where} is the list already used as node {first}: a node cannot have two "
                                 f"parents (use a copy, or a tuple, for a repeated subtree)")
            list_index[id(obj)] = index
        if isinstance(obj, (tuple, list)):
            if len(obj) == 0:
                raise ValueError(f"{where} is an empty {type(obj).__name__}: a node needs a label, "
                                 f"(label, child, ...)")
            _check_label(obj[0], f"{where}[0]", "a node's label, a str or a number")
            tokens.append(obj[0])
            # push the children right to left, so the leftmost is numbered first
            stack.extend((child, index, f"{where}[{k}]") for k, child in reversed(list(enumerate(obj))[1:]))
        else:
            _check_label(obj, where, "a leaf (a str or a number) or a node (label, child, ...), a tuple or list")
            tokens.append(obj)
        parent.append(up)
    return tokens, np.asarray(parent, dtype=np.int64)


_LEXEME = re.compile(r"\(|\)|[^\s()]+")


def tree_from_bracketed(text: str) -> tuple[list[str], np.ndarray]:
    """Turn a bracketed tree such as ``"(S (NP the cat) (VP sat))"`` into ``(tokens, parent)``.

    A node is ``(label child ...)``, a leaf a bare word; words are separated
    by white space or brackets. The example gives ``tokens = ["S", "NP",
    "the", "cat", "VP", "sat"]``, ``parent = [-1, 0, 1, 1, 0, 4]``. A single
    word is a one-node tree. The text must hold exactly one tree; malformed
    brackets raise a ``ValueError`` that says where.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str such as '(S (NP the cat) (VP sat))'; got {type(text).__name__}")
    tokens: list[str] = []
    parent: list[int] = []
    open_nodes: list[tuple[int, int]] = []  # (node index, position of its '(')
    label_due = None  # position of a '(' still waiting for its label
    for match in _LEXEME.finditer(text):
        lexeme, pos = match.group(), match.start()
        if label_due is not None and lexeme in "()":
            raise ValueError(f"text: the '(' at position {label_due} must be followed by a label, "
                             f"got {lexeme!r} at position {pos}")
        if lexeme == ")" and not open_nodes:
            raise ValueError(f"text has unbalanced brackets: the ')' at position {pos} closes nothing")
        if not open_nodes and tokens:
            raise ValueError(f"text must hold one tree, but more follows it at position {pos} ({lexeme!r}); "
                             f"merge several trees with merge_trees")
        if lexeme == "(":
            label_due = pos
        elif lexeme == ")":
            open_nodes.pop()
        else:
            parent.append(open_nodes[-1][0] if open_nodes else -1)
            tokens.append(lexeme)
            if label_due is not None:  # the label of a new node, which its children will follow
                open_nodes.append((len(tokens) - 1, label_due))
                label_due = None
    if label_due is not None:
        raise ValueError(f"text ends after the '(' at position {label_due}: a node needs a label and a ')'")
    if open_nodes:
        raise ValueError(f"text has unbalanced brackets: the '(' at position {open_nodes[-1][1]} is never closed")
    if not tokens:
        raise ValueError(f"text must hold a tree such as '(S (NP the cat) (VP sat))'; got {text!r}")
    return tokens, np.asarray(parent, dtype=np.int64)
