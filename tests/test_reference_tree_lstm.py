"""lstmlib.reference.tree_lstm: gradient checks, the paper's equations by hand, chains = LSTMs, bad input."""

import math

import numpy as np
import pytest

from lstmlib.reference import (
    check_child_sum_tree_lstm_gradients,
    check_nary_tree_lstm_gradients,
    child_sum_tree_lstm_backward,
    child_sum_tree_lstm_forward,
    init_child_sum_tree_lstm_params,
    init_lstm_params,
    init_nary_tree_lstm_params,
    lstm_forward,
    nary_tree_lstm_backward,
    nary_tree_lstm_forward,
)
from lstmlib.trees import merge_trees, random_tree


def relabel(parent, perm):
    """The same forest with node ``perm[k]`` renamed ``k``."""
    inv = np.argsort(perm)
    old = parent[perm]
    return np.where(old >= 0, inv[np.maximum(old, 0)], -1)


def random_forest(sizes, seed, max_children=None):
    """Several random trees merged, node indices shuffled (so parents are not always before children)."""
    rng = np.random.default_rng(seed)
    trees = [([None] * n, random_tree(n, rng=rng, max_children=max_children)) for n in sizes]
    parent = merge_trees(trees)[1]
    return relabel(parent, rng.permutation(len(parent)))


def with_random_biases(params, seed):
    """Biases well away from zero (zero biases once fooled a twin test)."""
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v.shape) if k.startswith("bias") else v) for k, v in params.items()}


FORESTS = {
    "one node": (np.array([-1]), 3),
    "chain": (np.array([1, 2, 3, -1]), 3),
    "wide": (np.array([-1, 0, 0, 0, 0, 0]), 5),
    "forest": (random_forest([5, 1, 7], seed=1, max_children=3), 3),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(FORESTS))
def test_child_sum_gradients_match_central_differences(name, bias):
    parent, _ = FORESTS[name]
    D, H = 3, 4
    params = init_child_sum_tree_lstm_params(D, H, rng=len(parent), bias=bias)
    params = with_random_biases(params, 5) if bias else params
    x = np.random.default_rng(2).standard_normal((len(parent), D))
    errors = check_child_sum_tree_lstm_gradients(params, x, parent, rng=3)
    assert set(errors) == set(params) | {"x"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(FORESTS))
def test_nary_gradients_match_central_differences(name, bias):
    parent, n = FORESTS[name]  # n at least the widest node; nodes with fewer children test the zero slots
    D, H = 2, 3
    params = init_nary_tree_lstm_params(D, H, n, rng=len(parent), bias=bias)
    params = with_random_biases(params, 6) if bias else params
    x = np.random.default_rng(4).standard_normal((len(parent), D))
    errors = check_nary_tree_lstm_gradients(params, x, parent, rng=5)
    assert set(errors) == set(params) | {"x"}
    assert max(errors.values()) < 1e-6, errors


# ---- the equations, by hand, on the smallest interesting tree ----------------------------------

def sig(z):
    return 1 / (1 + math.exp(-z))


def test_child_sum_matches_the_paper_by_hand():
    # D = H = 1; node 0 is the root of the leaves 1 and 2. Gate order i, f, g, o.
    w, u, b = [0.5, -0.3, 0.8, 0.2], [0.7, -0.6, 0.4, 0.9], [0.1, 0.3, -0.2, 0.05]
    params = {"weight_ih": np.array([w]).T, "weight_hh": np.array([u]).T, "bias_ih": np.array(b),
              "bias_hh": np.zeros(4)}
    x = [1.5, -0.7, 2.0]
    h, c, _ = child_sum_tree_lstm_forward(params, np.array([x]).T, np.array([-1, 0, 0]))
    # a leaf: no children, so h̃ = 0 and no forget term
    leaf = {}
    for k in (1, 2):
        i, g, o = sig(w[0] * x[k] + b[0]), math.tanh(w[2] * x[k] + b[2]), sig(w[3] * x[k] + b[3])
        leaf[k] = (o * math.tanh(i * g), i * g)  # (h_k, c_k)
    h_sum = leaf[1][0] + leaf[2][0]
    i = sig(w[0] * x[0] + u[0] * h_sum + b[0])
    g = math.tanh(w[2] * x[0] + u[2] * h_sum + b[2])
    o = sig(w[3] * x[0] + u[3] * h_sum + b[3])
    f1 = sig(w[1] * x[0] + u[1] * leaf[1][0] + b[1])  # each child's own forget gate, from its own h_k
    f2 = sig(w[1] * x[0] + u[1] * leaf[2][0] + b[1])
    c0 = i * g + f1 * leaf[1][1] + f2 * leaf[2][1]
    assert c[:, 0] == pytest.approx([c0, leaf[1][1], leaf[2][1]], abs=1e-15)
    assert h[:, 0] == pytest.approx([o * math.tanh(c0), leaf[1][0], leaf[2][0]], abs=1e-15)


def test_nary_matches_the_paper_by_hand():
    # D = H = 1, n = 2: node 0 has children 1 (slot 0) and 2 (slot 1); node 2 has child 3 in slot 0 only.
    w, b = [0.5, -0.3, 0.8, 0.2], [0.1, 0.3, -0.2, 0.05]
    # weight_hh rows [U_i; U_f0; U_f1; U_g; U_o], columns [slot 0, slot 1]
    U = np.array([[0.7, -0.2], [-0.6, 0.3], [0.25, 0.9], [0.4, -0.5], [0.9, 0.1]])
    params = {"weight_ih": np.array([w]).T, "weight_hh": U, "bias_ih": np.zeros(4), "bias_hh": np.array(b)}
    x = [1.5, -0.7, 2.0, 0.3]
    h, c, _ = nary_tree_lstm_forward(params, np.array([x]).T, np.array([-1, 0, 0, 2]))

    def node(xj, slots):  # slots: [(h, c) of child 0, (h, c) of child 1], zeros when missing
        hs = [s[0] for s in slots]
        i = sig(w[0] * xj + U[0] @ hs + b[0])
        f = [sig(w[1] * xj + U[1 + k] @ hs + b[1]) for k in range(2)]  # U_f kℓ: the full 2x2 block
        g = math.tanh(w[2] * xj + U[3] @ hs + b[2])
        o = sig(w[3] * xj + U[4] @ hs + b[3])
        cj = i * g + f[0] * slots[0][1] + f[1] * slots[1][1]
        return o * math.tanh(cj), cj

    zero = (0.0, 0.0)
    s3 = node(x[3], [zero, zero])
    s1 = node(x[1], [zero, zero])
    s2 = node(x[2], [s3, zero])  # one child: slot 1 is the zero state
    s0 = node(x[0], [s1, s2])
    assert h[:, 0] == pytest.approx([s0[0], s1[0], s2[0], s3[0]], abs=1e-15)
    assert c[:, 0] == pytest.approx([s0[1], s1[1], s2[1], s3[1]], abs=1e-15)


# ---- structure -------------------------------------------------------------------------------

def test_child_sum_is_blind_to_the_order_of_children_and_nary_is_not():
    parent = random_forest([9, 6], seed=7, max_children=3)
    N, D, H = len(parent), 3, 4
    x = np.random.default_rng(8).standard_normal((N, D))
    perm = np.random.default_rng(9).permutation(N)  # new node k is old node perm[k]: siblings reordered
    new_parent, new_x = relabel(parent, perm), x[perm]
    cs = with_random_biases(init_child_sum_tree_lstm_params(D, H, rng=0), 1)
    h, c, _ = child_sum_tree_lstm_forward(cs, x, parent)
    h2, c2, _ = child_sum_tree_lstm_forward(cs, new_x, new_parent)
    np.testing.assert_allclose(h2, h[perm], rtol=0, atol=1e-14)
    np.testing.assert_allclose(c2, c[perm], rtol=0, atol=1e-14)
    # the N-ary cell reads its children by position, so the same relabelling changes the roots' states
    nary = with_random_biases(init_nary_tree_lstm_params(D, H, 3, rng=0), 1)
    h, _, _ = nary_tree_lstm_forward(nary, x, parent)
    h2, _, _ = nary_tree_lstm_forward(nary, new_x, new_parent)
    roots = np.flatnonzero(parent < 0)
    assert np.abs(h2[np.argsort(perm)[roots]] - h[roots]).max() > 1e-3


@pytest.mark.parametrize("forward, init", [
    (child_sum_tree_lstm_forward, lambda D, H: init_child_sum_tree_lstm_params(D, H, rng=3)),
    (nary_tree_lstm_forward, lambda D, H: init_nary_tree_lstm_params(D, H, 1, rng=3)),
], ids=["child-sum", "1-ary"])
def test_a_chain_is_an_lstm_reading_it_from_leaf_to_root(forward, init):
    # Node t's only child is node t-1: the tree recurrence is the LSTM's, step t = node t.
    T, D, H = 6, 3, 4
    params = with_random_biases(init(D, H), 2)
    x = np.random.default_rng(0).standard_normal((T, D))
    h, c, _ = forward(params, x, np.append(np.arange(1, T), -1))
    lstm_params = {f"{key}_l0": value for key, value in params.items()}  # the same arrays, LSTM names
    y, (h_T, c_T), cache = lstm_forward(lstm_params, x[:, None, :])
    np.testing.assert_allclose(h, y[:, 0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(c, np.stack([step["c"][0] for step in cache["steps"]]), rtol=0, atol=1e-14)
    assert np.abs(c[-1] - c_T[0]).max() < 1e-14


def test_batching_trees_into_a_forest_changes_nothing():
    rng = np.random.default_rng(3)
    trees = [random_tree(n, rng=rng, max_children=2) for n in (4, 1, 6)]
    xs = [rng.standard_normal((len(p), 2)) for p in trees]
    _, parent, offsets = merge_trees([([None] * len(p), p) for p in trees])
    for forward, params in ((child_sum_tree_lstm_forward, init_child_sum_tree_lstm_params(2, 3, rng=0)),
                            (nary_tree_lstm_forward, init_nary_tree_lstm_params(2, 3, 2, rng=0))):
        h, c, _ = forward(params, np.concatenate(xs), parent)
        for t, (p, x) in enumerate(zip(trees, xs)):
            h_t, c_t, _ = forward(params, x, p)
            assert np.array_equal(h[offsets[t]:offsets[t + 1]], h_t)
            assert np.array_equal(c[offsets[t]:offsets[t + 1]], c_t)


def test_forward_and_backward_leave_their_inputs_alone():
    parent = random_forest([5, 4], seed=2, max_children=2)
    x = np.random.default_rng(0).standard_normal((len(parent), 2))
    for init, forward, backward in (
        (lambda: init_child_sum_tree_lstm_params(2, 3, rng=1), child_sum_tree_lstm_forward,
         child_sum_tree_lstm_backward),
        (lambda: init_nary_tree_lstm_params(2, 3, 2, rng=1), nary_tree_lstm_forward, nary_tree_lstm_backward),
    ):
        params = init()
        saved = {k: v.copy() for k, v in params.items()}
        x_saved, parent_saved = x.copy(), parent.copy()
        h, c, cache = forward(params, x, parent)
        dh, dc = np.ones_like(h), np.full_like(c, 0.5)
        dparams, dx = backward(params, cache, dh, dc)
        assert all(np.array_equal(params[k], saved[k]) for k in params)
        assert np.array_equal(x, x_saved) and np.array_equal(parent, parent_saved)
        assert (dh == 1).all() and (dc == 0.5).all()
        assert set(dparams) == set(params) and dx.shape == x.shape
        assert np.array_equal(dparams["bias_ih"], dparams["bias_hh"])
        # a second backward from the same cache gives the same gradients
        again, dx2 = backward(params, cache, dh, dc)
        assert np.array_equal(dx, dx2) and all(np.array_equal(again[k], dparams[k]) for k in params)


def test_init_shapes_seed_and_range():
    cs = init_child_sum_tree_lstm_params(3, 4, rng=0)
    assert {k: v.shape for k, v in cs.items()} == {
        "weight_ih": (16, 3), "weight_hh": (16, 4), "bias_ih": (16,), "bias_hh": (16,)}
    nary = init_nary_tree_lstm_params(3, 4, 2, rng=0, bias=False)
    assert {k: v.shape for k, v in nary.items()} == {"weight_ih": (16, 3), "weight_hh": (20, 8)}
    again = init_child_sum_tree_lstm_params(3, 4, rng=0)
    assert all(np.array_equal(cs[k], again[k]) for k in cs)
    assert all(np.abs(v).max() <= 0.5 for v in cs.values())  # uniform(±1/sqrt(H)), H = 4
    assert init_nary_tree_lstm_params(3, 4, 2, rng=0, dtype=np.float32)["weight_hh"].dtype == np.float32


# ---- bad input -------------------------------------------------------------------------------

CS = init_child_sum_tree_lstm_params(3, 4, rng=0)
NARY = init_nary_tree_lstm_params(3, 4, 2, rng=0)
PARENT = np.array([-1, 0, 0, 1])
X = np.random.default_rng(0).standard_normal((4, 3))
_, _, CS_CACHE = child_sum_tree_lstm_forward(CS, X, PARENT)
_, _, NARY_CACHE = nary_tree_lstm_forward(NARY, X, PARENT)
DH = np.zeros((4, 4))

CASES = {
    "x rank": (lambda: child_sum_tree_lstm_forward(CS, X[None], PARENT), ValueError,
               r"x must have 2 dimensions \(N, D\); got 3"),
    "x features": (lambda: nary_tree_lstm_forward(NARY, X[:, :2], PARENT), ValueError,
                   r"x must have shape \(N, D\) = \(4, 3\); got \(4, 2\)"),
    "x dtype": (lambda: child_sum_tree_lstm_forward(CS, X.astype(np.float32), PARENT), TypeError,
                r"x must have the dtype of params\['weight_ih'\] \(float64\); got float32"),
    "x int": (lambda: child_sum_tree_lstm_forward(CS, X.astype(int), PARENT), TypeError,
              r"x must have a floating-point dtype; got int64"),
    "x nan": (lambda: child_sum_tree_lstm_forward(CS, np.where(X > 1, np.nan, X), PARENT), ValueError,
              r"x must be finite"),
    "x list": (lambda: child_sum_tree_lstm_forward(CS, X.tolist(), PARENT), TypeError, r"x must be a NumPy array"),
    "parent length": (lambda: child_sum_tree_lstm_forward(CS, X, PARENT[:3]), ValueError,
                      r"parent must have one entry per node, the N=4 rows of x \(N, D\); got shape \(3,\)"),
    "cycle": (lambda: child_sum_tree_lstm_forward(CS, X, np.array([-1, 2, 3, 1])), ValueError,
              r"parent has a cycle: 1 -> 2 -> 3 -> 1"),
    "out of range": (lambda: nary_tree_lstm_forward(NARY, X, np.array([-1, 0, 0, 4])), ValueError,
                     r"parent\[3\] = 4 is out of range"),
    "too many children": (lambda: nary_tree_lstm_forward(NARY, X, np.array([-1, 0, 0, 0])), ValueError,
                          r"node 0 has 3 children \[1, 2, 3\], but an N-ary tree with n_ary=2 allows at most 2"),
    "float parent": (lambda: nary_tree_lstm_forward(NARY, X, PARENT.astype(float)), TypeError,
                     r"parent must have an integer dtype"),
    "missing key": (lambda: child_sum_tree_lstm_forward({"weight_ih": CS["weight_ih"]}, X, PARENT), ValueError,
                    r"params must have exactly the keys \['weight_ih', 'weight_hh'\]; missing \['weight_hh'\]"),
    "LSTM keys": (lambda: child_sum_tree_lstm_forward({f"{k}_l0": v for k, v in CS.items()}, X, PARENT),
                  ValueError, r"params must have the keys .*torch.nn.LSTMCell's names: .* no '_l0' suffix\); "
                              r"got \['weight_ih_l0'"),
    "one bias": (lambda: child_sum_tree_lstm_forward({k: v for k, v in CS.items() if k != "bias_hh"}, X, PARENT),
                 ValueError, r"missing \['bias_hh'\]"),
    "child-sum W_hh": (lambda: child_sum_tree_lstm_forward({**CS, "weight_hh": CS["weight_hh"][:, :3]}, X, PARENT),
                       ValueError, r"params\['weight_ih'\] must have shape \(4H, D\) = \(12, 3\); got \(16, 3\)"),
    "nary weight_ih rows": (lambda: nary_tree_lstm_forward({**NARY, "weight_ih": NARY["weight_ih"][:15]}, X, PARENT),
                            ValueError, r"params\['weight_ih'\] must have shape \(4H, D\), 4H rows .* got 15 rows"),
    "nary weight_hh cols": (lambda: nary_tree_lstm_forward({**NARY, "weight_hh": NARY["weight_hh"][:, :7]}, X,
                                                           PARENT),
                            ValueError, r"n\*H columns with H=4 \(from weight_ih\); got 7 columns"),
    "nary weight_hh rows": (lambda: nary_tree_lstm_forward({**NARY, "weight_hh": NARY["weight_hh"][:16]}, X, PARENT),
                            ValueError, r"params\['weight_hh'\] must have shape \(\(n\+3\)H, nH\) = \(20, 8\); "
                                        r"got \(16, 8\)"),
    "param dtype": (lambda: child_sum_tree_lstm_forward({**CS, "bias_ih": CS["bias_ih"].astype(np.float32)}, X,
                                                        PARENT),
                    TypeError, r"params\['bias_ih'\] must have the dtype of params\['weight_ih'\]"),
    "params type": (lambda: child_sum_tree_lstm_forward([CS], X, PARENT), TypeError, r"params must be a dict"),
    "dh shape": (lambda: child_sum_tree_lstm_backward(CS, CS_CACHE, DH[:3], DH), ValueError,
                 r"dh must have shape \(N, H\) = \(4, 4\); got \(3, 4\)"),
    "dc dtype": (lambda: nary_tree_lstm_backward(NARY, NARY_CACHE, DH, DH.astype(np.float32)), TypeError,
                 r"dc must have the dtype of params\['weight_ih'\]"),
    "cache type": (lambda: child_sum_tree_lstm_backward(CS, [CS_CACHE], DH, DH), TypeError,
                   r"cache must be the cache dict returned by child_sum_tree_lstm_forward"),
    "swapped cache": (lambda: child_sum_tree_lstm_backward(CS, NARY_CACHE, DH, DH), ValueError,
                      r"cache must have exactly the keys .*missing \['h_sum'\]"),
    "init n_ary": (lambda: init_nary_tree_lstm_params(3, 4, 0), ValueError, r"n_ary must be a positive int"),
    "init bias": (lambda: init_child_sum_tree_lstm_params(3, 4, bias=1), TypeError, r"bias must be a bool"),
    "init size": (lambda: init_child_sum_tree_lstm_params(3.0, 4), TypeError, r"input_size must be a positive int"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_with_a_clear_message(case):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_lstm_params_are_the_child_sum_params_under_other_names():
    # same keys but for the "_l0" suffix, same shapes, and the same draws from the same seed
    lstm = init_lstm_params(3, 4, rng=0)
    tree = init_child_sum_tree_lstm_params(3, 4, rng=0)
    assert list(lstm) == [f"{k}_l0" for k in tree]
    assert all(np.array_equal(lstm[f"{k}_l0"], v) for k, v in tree.items())
