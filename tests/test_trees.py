"""lstmlib.trees: parent arrays, traversal, heights, conversions, merging and drawing."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lstmlib.trees import (  # noqa: E402
    check_parent,
    children_lists,
    draw_tree,
    levels,
    merge_trees,
    node_depths,
    node_heights,
    postorder,
    random_tree,
    tree_from_bracketed,
    tree_from_nested,
    tree_layout,
)

# Two trees in one forest, nodes deliberately not in tree order:
#   tree A: 4 -> {0, 2}, 2 -> {1}        tree B: 3 -> {5}, 5 -> {6, 7}
FOREST = np.array([4, 2, 4, -1, -1, 3, 5, 5])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ---- structure -------------------------------------------------------------------------------

def test_check_parent_returns_an_int64_copy_and_accepts_torch_tensors():
    for given in (FOREST.astype(np.int32), torch.from_numpy(FOREST), torch.from_numpy(FOREST).int()):
        got = check_parent(given)
        assert got.dtype == np.int64 and np.array_equal(got, FOREST)
    original = FOREST.copy()
    check_parent(original)[0] = 99
    assert original[0] == 4


@pytest.mark.parametrize(
    "parent, n_ary, error, match",
    [
        ([-1, 0], None, TypeError, r"parent must be a NumPy array or torch tensor of integers \(N,\).*got list"),
        (np.array([-1.0, 0.0]), None, TypeError, r"parent must have an integer dtype .*got float64"),
        (np.array([True, False]), None, TypeError, r"parent must have an integer dtype .*got bool"),
        (torch.tensor([-1.0, 0.0]), None, TypeError, r"parent must have an integer dtype .*got float32"),
        (np.array([[-1, 0]]), None, ValueError, r"parent must have 1 dimensions \(N,\); got 2 dimensions"),
        (np.array([], dtype=np.int64), None, ValueError, r"parent must hold at least one node \(N >= 1\)"),
        (np.array([-1, 0, 3]), None, ValueError, r"parent\[2\] = 3 is out of range: .* 0 \.\. 2 \(N=3\)"),
        (np.array([-1, -2]), None, ValueError, r"parent\[1\] = -2 is out of range"),
        (np.array([-1, 1]), None, ValueError, r"parent\[1\] = 1: node 1 is its own parent \(a self-loop\)"),
        (np.array([-1, 2, 3, 1]), None, ValueError, r"parent has a cycle: 1 -> 2 -> 3 -> 1"),
        (np.array([2, 0, 1]), None, ValueError, r"parent has a cycle: 0 -> 2 -> 1 -> 0"),
        (np.array([-1, 0, 0, 0]), 2, ValueError,
         r"parent: node 0 has 3 children \[1, 2, 3\], but an N-ary tree with n_ary=2 allows at most 2"),
        (np.array([-1, 0]), 0, ValueError, r"n_ary must be a positive int \(>= 1\); got 0"),
    ],
)
def test_check_parent_rejects_bad_forests(parent, n_ary, error, match):
    with pytest.raises(error, match=match):
        check_parent(parent, n_ary=n_ary)


def test_a_cycle_is_found_even_below_a_valid_tree():
    # nodes 0-2 form a tree; 3 -> 4 -> 5 -> 3 is a cycle hanging off nothing; 6 leads into it
    parent = np.array([-1, 0, 0, 4, 5, 3, 3])
    with pytest.raises(ValueError, match=r"cycle: 3 -> 4 -> 5 -> 3"):
        check_parent(parent)


def test_children_postorder_heights_depths_levels_on_a_known_forest():
    assert children_lists(FOREST) == [[], [], [1], [5], [0, 2], [6, 7], [], []]
    assert postorder(FOREST).tolist() == [6, 7, 5, 3, 0, 1, 2, 4]  # roots by index: 3 before 4
    assert node_heights(FOREST).tolist() == [0, 0, 1, 2, 2, 1, 0, 0]
    assert node_depths(FOREST).tolist() == [1, 2, 1, 0, 0, 1, 2, 2]
    assert [level.tolist() for level in levels(FOREST)] == [[0, 1, 6, 7], [2, 5], [3, 4]]


def test_every_child_lies_in_an_earlier_level_and_before_its_parent_in_postorder():
    parent = random_tree(200, rng=3)
    height = node_heights(parent)
    child = np.flatnonzero(parent >= 0)
    assert (height[child] < height[parent[child]]).all()
    position = np.empty(200, dtype=int)
    position[postorder(parent)] = np.arange(200)
    assert (position[child] < position[parent[child]]).all()
    assert sorted(np.concatenate(levels(parent)).tolist()) == list(range(200))


def test_a_deep_chain_needs_no_recursion():
    parent = np.arange(-1, 4999)  # node k's parent is k-1: a chain 5000 deep
    assert postorder(parent).tolist() == list(range(4999, -1, -1))
    assert node_heights(parent)[0] == 4999 and node_depths(parent)[-1] == 4999


def test_random_tree_is_seeded_and_respects_max_children():
    a, b = random_tree(50, rng=7, max_children=2), random_tree(50, rng=7, max_children=2)
    assert np.array_equal(a, b)
    assert a[0] == -1 and (a[1:] < np.arange(1, 50)).all()  # node 0 the root, parents come first
    assert np.bincount(a[1:], minlength=50).max() <= 2
    assert random_tree(6, rng=0, max_children=1).tolist() == [-1, 0, 1, 2, 3, 4]  # a chain
    assert random_tree(1, rng=0).tolist() == [-1]
    with pytest.raises(ValueError, match=r"max_children must be a positive int"):
        random_tree(5, max_children=0)


def test_merge_trees_offsets_the_indices():
    tokens, parent, offsets = merge_trees([(["a", "b"], np.array([-1, 0])), (["c", "d", "e"], np.array([2, 2, -1]))])
    assert tokens == ["a", "b", "c", "d", "e"]
    assert parent.tolist() == [-1, 0, 4, 4, -1]
    assert offsets.tolist() == [0, 2, 5]


@pytest.mark.parametrize(
    "trees, error, match",
    [
        ([], ValueError, r"trees must be a non-empty list of \(tokens, parent\) pairs; got an empty list"),
        ([(["a"], np.array([-1])), "ab"], TypeError, r"trees\[1\] must be a \(tokens, parent\) pair; got str"),
        ([(["a"], np.array([-1, 0]))], ValueError, r"trees\[0\] must have one token per node: parent has N=2"),
        ([(["a", "b"], np.array([1, 0]))], ValueError, r"trees\[0\] parent has a cycle"),
    ],
)
def test_merge_trees_rejects_bad_input(trees, error, match):
    with pytest.raises(error, match=match):
        merge_trees(trees)


# ---- conversions -----------------------------------------------------------------------------

def test_nested_tuples_become_preorder_parent_arrays():
    tokens, parent = tree_from_nested(("+", ("*", 2, 3), 4))
    assert tokens == ["+", "*", 2, 3, 4]
    assert parent.tolist() == [-1, 0, 1, 1, 0]
    tokens, parent = tree_from_nested(7)  # a lone leaf
    assert tokens == [7] and parent.tolist() == [-1]
    assert tree_from_nested(("x",))[0] == ["x"]
    tokens, parent = tree_from_nested(["not", ["and", True, False]])  # lists work as nodes too
    assert tokens == ["not", "and", True, False] and parent.tolist() == [-1, 0, 1, 1]


def test_a_repeated_tuple_subtree_is_copied():
    t = ("+", 1, 2)
    tokens, parent = tree_from_nested(("*", t, t))
    assert tokens == ["*", "+", 1, 2, "+", 1, 2]
    assert parent.tolist() == [-1, 0, 1, 1, 0, 4, 4]


def test_a_list_under_two_parents_or_inside_itself_is_rejected():
    shared = ["+", 1, 2]
    with pytest.raises(ValueError, match=r"tree\[2\] is the list already used as node 1: a node cannot have two"):
        tree_from_nested(["*", shared, shared])
    loop = ["+", 1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"tree\[2\] is the list of node 0, one of its own ancestors: .*cycle"):
        tree_from_nested(loop)
    inner = ["-", 1]
    outer = ("+", inner)
    inner.append(outer)  # a tuple inside a list inside that tuple
    with pytest.raises(ValueError, match=r"cycle"):
        tree_from_nested(outer)


@pytest.mark.parametrize(
    "tree, error, match",
    [
        ((), ValueError, r"tree is an empty tuple: a node needs a label"),
        (("+", 1, []), ValueError, r"tree\[2\] is an empty list"),
        ((("a",), 1), TypeError, r"tree\[0\] must be a node's label, a str or a number; got tuple"),
        (("+", None), TypeError, r"tree\[1\] must be a leaf \(a str or a number\) or a node .*got NoneType"),
        ({"+": (1, 2)}, TypeError, r"tree must be a leaf .*got dict"),
    ],
)
def test_nested_input_errors(tree, error, match):
    with pytest.raises(error, match=match):
        tree_from_nested(tree)


def test_a_deep_nested_tree_needs_no_recursion():
    tree = 0
    for _ in range(3000):
        tree = ("s", tree)
    tokens, parent = tree_from_nested(tree)
    assert len(tokens) == 3001 and parent.tolist() == list(range(-1, 3000))


def test_bracketed_strings_become_preorder_parent_arrays():
    tokens, parent = tree_from_bracketed("(S (NP the cat) (VP sat))")
    assert tokens == ["S", "NP", "the", "cat", "VP", "sat"]
    assert parent.tolist() == [-1, 0, 1, 1, 0, 4]
    tokens, parent = tree_from_bracketed("\n(S\n  (NP (DT the) (NN cat))\n  (VP sat) )  ")
    assert tokens == ["S", "NP", "DT", "the", "NN", "cat", "VP", "sat"]
    assert parent.tolist() == [-1, 0, 1, 2, 1, 4, 0, 6]
    assert tree_from_bracketed("cat")[0] == ["cat"]
    # the same tree written both ways gives the same arrays
    nested = tree_from_nested(("+", ("*", "2", "3"), "4"))
    bracketed = tree_from_bracketed("(+ (* 2 3) 4)")
    assert nested[0] == bracketed[0] and np.array_equal(nested[1], bracketed[1])


@pytest.mark.parametrize(
    "text, match",
    [
        ("(S (NP the cat) (VP sat)", r"unbalanced brackets: the '\(' at position 0 is never closed"),
        ("(S a))", r"unbalanced brackets: the '\)' at position 5 closes nothing"),
        ("((S a))", r"the '\(' at position 0 must be followed by a label, got '\(' at position 1"),
        ("(S () a)", r"the '\(' at position 3 must be followed by a label, got '\)' at position 4"),
        ("(S a) (T b)", r"text must hold one tree, but more follows it at position 6"),
        ("the cat", r"text must hold one tree, but more follows it at position 4 \('cat'\)"),
        ("(S a (", r"text ends after the '\(' at position 5"),
        ("  ", r"text must hold a tree"),
    ],
)
def test_malformed_brackets_are_rejected_saying_where(text, match):
    with pytest.raises(ValueError, match=match):
        tree_from_bracketed(text)


def test_bracketed_text_must_be_a_string():
    with pytest.raises(TypeError, match=r"text must be a str .*got bytes"):
        tree_from_bracketed(b"(S a)")


# ---- drawing ---------------------------------------------------------------------------------

def test_layout_puts_parents_above_and_between_their_children():
    xy = tree_layout(FOREST)
    child = np.flatnonzero(FOREST >= 0)
    assert np.allclose(xy[child, 1], xy[FOREST[child], 1] - 1)  # one row below the parent
    assert xy[5, 0] == (xy[6, 0] + xy[7, 0]) / 2  # midway between its children
    leaves = [6, 7, 0, 1]  # tree of root 3 first, then root 4; depth-first, children by index
    assert np.all(np.diff(xy[leaves, 0]) > 0)


def test_draw_tree_labels_every_node_and_returns_the_axes():
    tokens, parent = tree_from_nested(("+", ("*", 2, 3), 4))
    ax = draw_tree(tokens, parent)
    assert isinstance(ax, plt.Axes)
    assert sorted(t.get_text() for t in ax.texts) == sorted(["+", "*", "2", "3", "4"])
    assert len(ax.lines) == 4  # one edge per child
    ax = draw_tree(tokens, parent, show_index=True, colors=["C0", "C1", "C2", "C3", "C4"], title="2 * 3 + 4")
    assert "+\n#0" in [t.get_text() for t in ax.texts] and ax.get_title() == "2 * 3 + 4"
    _, ax = plt.subplots()
    assert draw_tree(None, FOREST, ax=ax) is ax
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(j) for j in range(8))


def test_draw_tree_rejects_mismatched_labels_and_colours():
    with pytest.raises(ValueError, match=r"tokens must have one label per node \(N=8 in parent\); got 2"):
        draw_tree(["a", "b"], FOREST)
    with pytest.raises(ValueError, match=r"colors must have one colour per node \(N=8 in parent\); got 1"):
        draw_tree(None, FOREST, colors=["red"])
    with pytest.raises(ValueError, match=r"parent has a cycle"):
        draw_tree(None, np.array([1, 0]))
