"""lstmlib.data.expressions: random arithmetic expression trees modulo 10, two views of each, labels."""

import numpy as np
import pytest
import torch

import lstmlib.nn as lnn
from lstmlib.data import encode_forest, encode_sequences, expression_values, random_expressions
from lstmlib.data.expressions import MAX_DEPTH, PAD, VOCAB, Expression
from lstmlib.trees import check_parent, children_lists, node_heights, tree_from_nested


def exact_value(e, modulus=10):
    """The value by Python's integer arithmetic on the text: mod m commutes with + - *, so % m once at the end."""
    return eval(e.text, {"__builtins__": {}}) % modulus  # the text holds only digits, + - *, brackets


def test_seeded_and_reproducible():
    a, b = random_expressions(20, (0, 5), rng=3), random_expressions(20, (0, 5), rng=3)
    assert [e.text for e in a] == [e.text for e in b]
    assert [e.text for e in random_expressions(20, (0, 5), rng=4)] != [e.text for e in a]


def test_depth_is_the_tree_height_and_is_controlled():
    exprs = random_expressions(200, (2, 6), rng=0)
    assert {e.depth for e in exprs} == {2, 3, 4, 5, 6}
    for e in exprs:
        assert node_heights(e.parent)[0] == e.depth  # node 0 is the root
    assert {e.depth for e in random_expressions(30, 4, rng=1)} == {4}
    lone = random_expressions(5, 0, rng=2)
    assert all(len(e.tokens) == 1 and e.sequence == e.tokens and e.value == int(e.tokens[0]) for e in lone)


def test_values_are_the_expressions_modulo_10():
    exprs = random_expressions(300, (0, 7), rng=5)
    assert [e.value for e in exprs] == [exact_value(e) for e in exprs]
    assert expression_values(exprs).tolist() == [e.value for e in exprs]
    assert expression_values(exprs).dtype == np.int64


def test_the_tree_view_and_the_sequence_view_agree():
    for e in random_expressions(100, (0, 6), rng=6):
        tokens, parent = tree_from_nested(e.tree)
        assert tuple(tokens) == e.tokens and np.array_equal(parent, e.parent)
        check_parent(e.parent, n_ary=2)
        children = children_lists(e.parent)
        for token, kids in zip(e.tokens, children):
            # operators have exactly two operands (left the smaller index), digits none
            assert (len(kids) == 2) if token in "+-*" else (len(kids) == 0 and token.isdigit())
        n_ops = sum(token in "+-*" for token in e.tokens)
        assert e.sequence.count("(") == e.sequence.count(")") == n_ops
        assert sorted(t for t in e.sequence if t not in "()") == sorted(e.tokens)
        assert e.text.replace("(", "").replace(")", "").replace(" ", "") == "".join(
            t for t in e.sequence if t not in "()")


def test_a_known_expression():
    # the first draw of seed 0, checked by hand: (1 - (-1)) * (16 - (-2)) = 2 * 18 = 36 = 6 (mod 10)
    e = random_expressions(1, 3, rng=0)[0]
    assert e.text == "((1 - (2 - 3)) * ((2 * 8) - (7 - 9)))"
    assert e.value == 6 and e.depth == 3
    assert e.tokens == ("*", "-", "1", "-", "2", "3", "-", "*", "2", "8", "-", "7", "9")
    assert e.parent.tolist() == [-1, 0, 1, 1, 3, 3, 0, 6, 7, 7, 6, 10, 10]


def test_labels_are_spread_over_all_ten_digits():
    values = expression_values(random_expressions(2000, (1, 6), rng=7))
    share = np.bincount(values, minlength=10) / len(values)
    assert share.min() > 0.04 and share.max() < 0.3  # 0 is the most common (products), never dominant


def test_modulus_and_operators_are_respected():
    exprs = random_expressions(100, (1, 4), rng=8, ops=("+",), modulus=7)
    for e in exprs:
        assert set(e.tokens) <= {"+"} | {str(d) for d in range(7)}
        assert e.value == exact_value(e, 7)


def test_encode_sequences_pads_time_major():
    exprs = random_expressions(8, (0, 4), rng=9)
    ids, lengths = encode_sequences(exprs)
    assert ids.dtype == lengths.dtype == np.int64
    assert ids.shape == (max(len(e.sequence) for e in exprs), 8)
    for b, e in enumerate(exprs):
        assert lengths[b] == len(e.sequence)
        assert tuple(VOCAB[k] for k in ids[:lengths[b], b]) == e.sequence
        assert (ids[lengths[b]:, b] == VOCAB.index(PAD)).all()


def test_encode_forest_merges_the_trees():
    exprs = random_expressions(6, (0, 4), rng=10)
    ids, parent, roots = encode_forest(exprs)
    assert len(ids) == len(parent) == sum(len(e.tokens) for e in exprs)
    assert roots.tolist() == np.flatnonzero(parent < 0).tolist() and len(roots) == 6
    ends = np.append(roots[1:], len(ids))
    for e, start, end in zip(exprs, roots, ends):
        assert tuple(VOCAB[k] for k in ids[start:end]) == e.tokens
        assert np.array_equal(np.where(parent[start:end] >= 0, parent[start:end] - start, -1), e.parent)


def test_the_forest_feeds_both_tree_lstms():
    exprs = random_expressions(5, (1, 3), rng=11)
    ids, parent, roots = encode_forest(exprs)
    embed = torch.nn.Embedding(len(VOCAB), 4)
    for module in (lnn.ChildSumTreeLSTM(4, 6), lnn.NaryTreeLSTM(4, 6, n_ary=2)):
        h, _ = module(embed(torch.from_numpy(ids)), torch.from_numpy(parent))
        assert h[torch.from_numpy(roots)].shape == (5, 6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=0), ValueError, r"n must be a positive int \(>= 1\); got 0"),
        (dict(depth=-1), ValueError, rf"depth must be an int in 0 \.\. {MAX_DEPTH} or a pair .*got -1"),
        (dict(depth=MAX_DEPTH + 1), ValueError, rf"got {MAX_DEPTH + 1}"),
        (dict(depth=2.5), TypeError, r"depth must be an int .*got float 2.5"),
        (dict(depth=(3, 1)), ValueError, r"depth \(lowest, highest\) must have lowest <= highest; got \(3, 1\)"),
        (dict(depth=(1, 2, 3)), ValueError, r"depth must be an int .* or a pair .*got \(1, 2, 3\)"),
        (dict(ops="+-"), TypeError, r"ops must be a tuple of operators from \['\+', '-', '\*'\]; got str"),
        (dict(ops=("/",)), ValueError, r"ops must be a non-empty tuple of distinct operators .*got \('/',\)"),
        (dict(ops=()), ValueError, r"ops must be a non-empty tuple"),
        (dict(ops=("+", "+")), ValueError, r"distinct operators"),
        (dict(modulus=11), ValueError, r"modulus must be an int in 2 \.\. 10 .*got 11"),
        (dict(modulus=1), ValueError, r"modulus must be an int in 2 \.\. 10"),
        (dict(modulus=10.0), TypeError, r"modulus must be an int in 2 \.\. 10; got float"),
        (dict(rng=-1), ValueError, r"rng must be a non-negative int seed"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, match):
    args = dict(n=3, depth=(1, 3), rng=0) | kwargs
    with pytest.raises(error, match=match):
        random_expressions(**args)


@pytest.mark.parametrize("encode", [encode_sequences, encode_forest, expression_values])
def test_encoders_reject_what_is_not_a_list_of_expressions(encode):
    with pytest.raises(ValueError, match=r"expressions must be a non-empty list of Expression"):
        encode([])
    with pytest.raises(TypeError, match=r"expressions\[1\] must be an Expression .*got str"):
        encode([random_expressions(1, 1, rng=0)[0], "(1 + 2)"])
    assert isinstance(random_expressions(1, 1, rng=0)[0], Expression)
