"""Random arithmetic expressions modulo 10: a compositional task where the tree matters.

Each expression is a binary tree: a leaf is a digit ``0 .. m-1``, an internal
node one of the operators ``+``, ``-``, ``*``; its value is computed modulo
``m`` (10 by default), so every expression, however deep, evaluates to a
digit, the class to predict. A model must apply the operators in the order
the tree dictates; trained on shallow expressions and tested on deeper ones,
it shows whether it has learnt that composition or only surface statistics.

The same expression is given two ways:

* ``sequence``: the fully bracketed infix tokens, for a sequential LSTM,
  e.g. ``( ( 2 * 3 ) + 4 )``;
* ``tokens, parent``: the tree for a Tree-LSTM, nodes in pre-order (the root
  first, then the left operand's subtree, then the right's), operators on the
  internal nodes and digits on the leaves. The left operand has the smaller
  index, so an N-ary Tree-LSTM with ``n_ary=2`` sees the operands in order
  (``-`` is not commutative; a child-sum Tree-LSTM cannot tell ``a - b`` from
  ``b - a`` except through what the leaves' own states say).

``depth`` is the tree's height: a lone digit has depth 0, ``2 * 3`` depth 1.
An expression of depth d has one operand of depth d-1 (left or right at
random) and the other of a depth drawn uniformly from 0 .. d-1.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmlib._checks import check_positive_int, check_rng
from lstmlib.trees import merge_trees, tree_from_nested

__all__ = [
    "Expression",
    "MAX_DEPTH",
    "OPERATORS",
    "PAD",
    "VOCAB",
    "encode_forest",
    "encode_sequences",
    "expression_values",
    "random_expressions",
]

OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
PAD = "<pad>"
# one vocabulary for both views: padding first (id 0), digits, operators, brackets
VOCAB = (PAD, *(str(d) for d in range(10)), *OPERATORS, "(", ")")
TOKEN_ID = {token: k for k, token in enumerate(VOCAB)}
MAX_DEPTH = 20  # an expression of depth 20 has about 1,150 nodes on average


@dataclass(frozen=True, eq=False)
class Expression:
    """One expression. tree: nested tuples ``(op, left, right)`` with digit strings as leaves."""

    tree: Any
    sequence: tuple[str, ...]  # bracketed infix tokens, for a sequential model
    tokens: tuple[str, ...]  # the tree's nodes in pre-order: operators and digits
    parent: np.ndarray  # (n_nodes,) int64, -1 for the root
    value: int  # the expression modulo m
    depth: int  # the tree's height; 0 for a lone digit

    @property
    def text(self) -> str:
        """``"((2 * 3) + 4)"``: the sequence as one readable string."""
        return " ".join(self.sequence).replace("( ", "(").replace(" )", ")")


def random_expressions(n: int, depth: int | tuple[int, int], rng=None, ops: Sequence[str] = ("+", "-", "*"),
                       modulus: int = 10) -> list[Expression]:
    """Draw ``n`` random expressions with digits ``0 .. modulus-1``, evaluated modulo ``modulus``.

    depth: an int, every expression's depth, or ``(lowest, highest)``, each
    expression's depth uniform in that range (inclusive), at most
    :data:`MAX_DEPTH`. ops: which of ``"+"``, ``"-"``, ``"*"`` to use.
    rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
    Returns a list of :class:`Expression`.
    """
    n = check_positive_int("n", n)
    low, high = _check_depth(depth)
    ops = _check_ops(ops)
    if isinstance(modulus, bool) or not isinstance(modulus, numbers.Integral):
        raise TypeError(f"modulus must be an int in 2 .. 10; got {type(modulus).__name__} {modulus!r}")
    if not 2 <= modulus <= 10:
        raise ValueError(f"modulus must be an int in 2 .. 10 (the digits are single tokens 0 .. modulus-1); "
                         f"got {modulus}")
    gen = check_rng("rng", rng)
    expressions = []
    for d in gen.integers(low, high + 1, size=n).tolist():
        tree, value = _grow(d, ops, int(modulus), gen)
        tokens, parent = tree_from_nested(tree)
        expressions.append(Expression(tree=tree, sequence=tuple(_infix(tree)), tokens=tuple(tokens), parent=parent,
                                      value=value, depth=d))
    return expressions


def _grow(depth: int, ops: tuple[str, ...], modulus: int, gen: np.random.Generator) -> tuple[Any, int]:
    """A random tree of exactly this height and its value modulo ``modulus``."""
    if depth == 0:
        digit = int(gen.integers(modulus))
        return str(digit), digit
    op = ops[int(gen.integers(len(ops)))]
    deep = _grow(depth - 1, ops, modulus, gen)  # one operand makes the height exactly `depth`
    other = _grow(int(gen.integers(depth)), ops, modulus, gen)
    (left, a), (right, b) = (deep, other) if gen.random() < 0.5 else (other, deep)
    return (op, left, right), OPERATORS[op](a, b) % modulus


def _infix(tree: Any) -> list[str]:
    """``("+", ("*", "2", "3"), "4")`` -> ``( ( 2 * 3 ) + 4 )`` as tokens."""
    if isinstance(tree, str):
        return [tree]
    op, left, right = tree
    return ["(", *_infix(left), op, *_infix(right), ")"]


def _check_depth(depth: Any) -> tuple[int, int]:
    what = f"an int in 0 .. {MAX_DEPTH} or a pair (lowest, highest) of them"
    pair = (depth, depth) if not isinstance(depth, (tuple, list)) else tuple(depth)
    if len(pair) != 2:
        raise ValueError(f"depth must be {what}; got {depth!r}")
    for d in pair:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"depth must be {what}; got {type(d).__name__} {d!r}")
        if not 0 <= d <= MAX_DEPTH:
            raise ValueError(f"depth must be {what}; got {d}")
    if pair[0] > pair[1]:
        raise ValueError(f"depth (lowest, highest) must have lowest <= highest; got {tuple(pair)}")
    return int(pair[0]), int(pair[1])


def _check_ops(ops: Any) -> tuple[str, ...]:
    if isinstance(ops, str) or not isinstance(ops, (tuple, list)):
        raise TypeError(f"ops must be a tuple of operators from {list(OPERATORS)}; got {type(ops).__name__} {ops!r}")
    unknown = [op for op in ops if op not in OPERATORS]
    if not ops or unknown or len(set(ops)) != len(ops):
        raise ValueError(f"ops must be a non-empty tuple of distinct operators from {list(OPERATORS)}; got {ops!r}")
    return tuple(ops)


def _check_expressions(expressions: Any) -> list[Expression]:
    if not isinstance(expressions, (list, tuple)) or not expressions:
        raise ValueError(f"expressions must be a non-empty list of Expression (from random_expressions); "
                         f"got {expressions!r:.60}")
    for k, e in enumerate(expressions):
        if not isinstance(e, Expression):
            raise TypeError(f"expressions[{k}] must be an Expression (from random_expressions); "
                            f"got {type(e).__name__}")
    return list(expressions)


def encode_sequences(expressions: Sequence[Expression]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of the bracketed sequences, time-major and padded with ``PAD`` (id 0).

    Returns ids: (T, B) int64, T the longest sequence, and lengths: (B,) int64.
    """
    expressions = _check_expressions(expressions)
    lengths = np.array([len(e.sequence) for e in expressions], dtype=np.int64)
    ids = np.zeros((lengths.max(), len(expressions)), dtype=np.int64)
    for b, e in enumerate(expressions):
        ids[:lengths[b], b] = [TOKEN_ID[token] for token in e.sequence]
    return ids, lengths


def encode_forest(expressions: Sequence[Expression]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All the expressions' trees as one forest, for a Tree-LSTM.

    Returns ids: (N,) int64 token ids of the nodes (from :data:`VOCAB`),
    parent: (N,) int64, and roots: (B,) int64, the node index of each
    expression's root (its whole value is read off the root's state).
    """
    expressions = _check_expressions(expressions)
    tokens, parent, offsets = merge_trees([(e.tokens, e.parent) for e in expressions])
    ids = np.array([TOKEN_ID[token] for token in tokens], dtype=np.int64)
    return ids, parent, offsets[:-1]  # pre-order: each tree's root is its first node


def expression_values(expressions: Sequence[Expression]) -> np.ndarray:
    """The labels: every expression's value, (B,) int64."""
    return np.array([e.value for e in _check_expressions(expressions)], dtype=np.int64)
