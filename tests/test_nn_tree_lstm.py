"""What is special about lstmlib.nn.ChildSumTreeLSTM / NaryTreeLSTM: level batching, chains, child order, forests.

Their contract -- parity with the NumPy reference in float64 and float32 on
many forests, the no-grad path, state_dict, keyword-only arguments, CUDA --
is checked in tests/contract/test_trees.py.
"""

import numpy as np
import pytest
import torch
from twins import one_thread, randomize  # noqa: F401  (one_thread is an autouse fixture)

import lstmlib.nn as lnn
from lstmlib.trees import merge_trees, random_tree

KINDS = ["child-sum", "n-ary"]


def make(kind, D, H, n=4, **kwargs):
    return lnn.ChildSumTreeLSTM(D, H, **kwargs) if kind == "child-sum" else lnn.NaryTreeLSTM(D, H, n, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_a_forest_gives_each_tree_what_it_gets_alone(kind):
    module = randomize(make(kind, 3, 5, dtype=torch.float64), seed=6)
    rng = np.random.default_rng(7)
    trees = [random_tree(n, rng=rng, max_children=3) for n in (9, 1, 15, 4)]
    xs = [torch.randn(len(p), 3, dtype=torch.float64) for p in trees]
    _, parent, offsets = merge_trees([([None] * len(p), p) for p in trees])
    x = torch.cat(xs).requires_grad_(True)
    h, c = module(x, torch.from_numpy(parent))
    (h.sum() + (c * c).sum()).backward()
    together = x.grad.clone()
    for t, (p, x_t) in enumerate(zip(trees, xs)):
        x_t = x_t.clone().requires_grad_(True)
        h_t, c_t = module(x_t, torch.from_numpy(p))
        (h_t.sum() + (c_t * c_t).sum()).backward()
        rows = slice(offsets[t], offsets[t + 1])
        torch.testing.assert_close(h[rows], h_t, rtol=0, atol=1e-13)
        torch.testing.assert_close(c[rows], c_t, rtol=0, atol=1e-13)
        torch.testing.assert_close(together[rows], x_t.grad, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_a_chain_is_torch_nn_lstm(kind):
    # node t's only child is node t-1; N-ary with n=1 and child-sum both reduce to the LSTM
    T, D, H = 7, 3, 4
    module = randomize(make(kind, D, H, n=1, dtype=torch.float64), seed=8)
    lstm = torch.nn.LSTM(D, H, dtype=torch.float64)
    lstm.load_state_dict({f"{k}_l0": v for k, v in module.state_dict().items()})  # the same tensors, LSTM names
    x = torch.randn(T, D, dtype=torch.float64, requires_grad=True)
    h, c = module(x, torch.tensor([1, 2, 3, 4, 5, 6, -1]))
    y, (h_n, c_n) = lstm(x[:, None])
    torch.testing.assert_close(h, y[:, 0], rtol=0, atol=1e-13)
    torch.testing.assert_close(c[-1], c_n[0, 0], rtol=0, atol=1e-13)
    ours = torch.autograd.grad(h.sum(), [x, *module.parameters()])
    theirs = torch.autograd.grad(y.sum(), [x, *lstm.parameters()])
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_child_sum_ignores_child_order_and_nary_does_not():
    parent = np.array([-1, 0, 0, 0, 1, 1])
    swapped = np.array([-1, 0, 0, 0, 2, 2])  # the two grandchildren move from node 1 to node 2...
    order = [0, 2, 1, 3, 4, 5]  # ...and nodes 1 and 2 trade inputs: the same tree, children reordered
    x = torch.randn(6, 3, dtype=torch.float64)
    for kind, same in (("child-sum", True), ("n-ary", False)):
        module = randomize(make(kind, 3, 4, dtype=torch.float64), seed=9)
        h, _ = module(x, parent)
        h2, _ = module(x[order], swapped)
        assert torch.allclose(h2[0], h[0], rtol=0, atol=1e-14) == same


def test_parameters_shapes_init_and_repr():
    cs, nary = lnn.ChildSumTreeLSTM(3, 4), lnn.NaryTreeLSTM(3, 4, n_ary=2, bias=False)
    assert {k: tuple(v.shape) for k, v in cs.state_dict().items()} == {
        "weight_ih": (16, 3), "weight_hh": (16, 4), "bias_ih": (16,), "bias_hh": (16,)}
    assert {k: tuple(v.shape) for k, v in nary.state_dict().items()} == {"weight_ih": (16, 3), "weight_hh": (20, 8)}
    assert all(p.abs().max() <= 0.5 for p in cs.parameters())  # uniform(±1/sqrt(H)), H = 4
    assert repr(cs) == "ChildSumTreeLSTM(3, 4)" and repr(nary) == "NaryTreeLSTM(3, 4, n_ary=2, bias=False)"
    torch.manual_seed(0)
    a = lnn.NaryTreeLSTM(3, 4, 2)
    torch.manual_seed(0)
    assert torch.equal(a.weight_hh, lnn.NaryTreeLSTM(3, 4, 2).weight_hh)
    # bias=False runs, and its output depends only on x and the weights
    h, _ = nary(torch.zeros(3, 3), np.array([-1, 0, 0]))
    assert torch.equal(h, torch.zeros(3, 4))


# ---- bad input -------------------------------------------------------------------------------

X = torch.randn(4, 3)
PARENT = torch.tensor([-1, 0, 0, 1])


@pytest.mark.parametrize(
    "x, parent, error, match",
    [
        (X.numpy(), PARENT, TypeError, r"x must be a torch.Tensor \(N, D\) of node inputs; got ndarray"),
        (X[None], PARENT, ValueError, r"x must have 2 dimensions \(N, D\); got 3 dimensions"),
        (X.double(), PARENT, TypeError, r"x must have the dtype of the parameters \(float32\); got float64"),
        (X.long(), PARENT, TypeError, r"x must have a floating-point dtype; got int64"),
        (X[:, :2], PARENT, ValueError, r"x must have D=3 along axis 1 of \(N, D\); got shape \(4, 2\)"),
        (X[:0], PARENT[:0], ValueError, r"x must hold at least one node \(N >= 1\)"),
        (X, PARENT[:3], ValueError, r"parent must have one entry per node, the N=4 rows of x \(N, D\); "
                                    r"got shape \(3,\)"),
        (X, torch.tensor([-1, 2, 3, 1]), ValueError, r"parent has a cycle: 1 -> 2 -> 3 -> 1"),
        (X, torch.tensor([1, 2, 0, -1]), ValueError, r"parent has a cycle: 0 -> 1 -> 2 -> 0"),
        (X, torch.tensor([-1, 0, 0, 4]), ValueError, r"parent\[3\] = 4 is out of range: .* 0 \.\. 3 \(N=4\)"),
        (X, torch.tensor([-1, 0, 2, 1]), ValueError, r"parent\[2\] = 2: node 2 is its own parent"),
        (X, torch.tensor([-1.0, 0, 0, 1]), TypeError, r"parent must have an integer dtype .*got float32"),
        (X, [-1, 0, 0, 1], TypeError, r"parent must be a NumPy array or torch tensor of integers \(N,\)"),
        (X, PARENT[None], ValueError, r"parent must have 1 dimensions \(N,\)"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_rejected(kind, x, parent, error, match):
    with pytest.raises(error, match=match):
        make(kind, 3, 4, n=2)(x, parent)


def test_nary_rejects_a_node_with_too_many_children():
    with pytest.raises(ValueError, match=r"node 0 has 3 children \[1, 2, 3\], but an N-ary tree with n_ary=2"):
        lnn.NaryTreeLSTM(3, 4, 2)(X, torch.tensor([-1, 0, 0, 0]))
    lnn.ChildSumTreeLSTM(3, 4)(X, torch.tensor([-1, 0, 0, 0]))  # any number of children is fine here


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: lnn.NaryTreeLSTM(3, 4, 0), ValueError, r"n_ary must be a positive int \(>= 1\); got 0"),
        (lambda: lnn.NaryTreeLSTM(3, 4, 2.0), TypeError, r"n_ary must be a positive int; got float"),
        (lambda: lnn.ChildSumTreeLSTM(3, 0), ValueError, r"hidden_size must be a positive int \(>= 1\); got 0"),
        (lambda: lnn.ChildSumTreeLSTM("3", 4), TypeError, r"input_size must be a positive int; got str"),
        (lambda: lnn.ChildSumTreeLSTM(3, 4, bias="yes"), TypeError, r"bias must be a bool"),
    ],
)
def test_constructor_rejects_bad_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()
