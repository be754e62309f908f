"""Tree-LSTMs in NumPy (Tai et al. 2015): child-sum and N-ary, forward and hand-written backward.

A batch of trees is one forest: node inputs ``x: (N, D)`` and ``parent: (N,)``
integers, ``-1`` for a root (see :mod:`lstmlib.trees`). A node ``j`` combines
its input ``x_j`` with the states ``(h_k, c_k)`` of its children ``k``; a
leaf has no children, so it starts from nothing, like the first step of a
sequence from a zero state. The reference visits the nodes one at a time in
post-order (every child before its parent); it is the parity oracle of the
level-batched :mod:`lstmlib.nn.tree_lstm`.

Notation: the book's gate names, ``i, f, g, o``, where ``g`` is the candidate
the paper calls ``u``. ``H`` hidden units, ``D`` input features.

**Child-sum Tree-LSTM** (any number of children, their order irrelevant)::

    h̃_j  = Σ_k h_k                                 sum over the children k of j
    i_j  = σ(W_i x_j + U_i h̃_j + b_i)
    f_jk = σ(W_f x_j + U_f h_k + b_f)              one forget gate per child
    g_j  = tanh(W_g x_j + U_g h̃_j + b_g)
    o_j  = σ(W_o x_j + U_o h̃_j + b_o)
    c_j  = i_j ⊙ g_j + Σ_k f_jk ⊙ c_k
    h_j  = o_j ⊙ tanh(c_j)

Parameters, the LSTM's keys and shapes without the layer suffix (those of
``torch.nn.LSTMCell``)::

    weight_ih (4H, D)   [W_i; W_f; W_g; W_o]
    weight_hh (4H, H)   [U_i; U_f; U_g; U_o]
    bias_ih   (4H,)     optional, with bias_hh: b = bias_ih + bias_hh
    bias_hh   (4H,)

On a chain (one child per node) it is exactly the LSTM reading the chain
from leaf to root, with ``weight_ih_l0 = weight_ih`` and so on.

**N-ary Tree-LSTM** (at most ``n`` children, child ``ℓ`` the ℓ-th by node index;
a missing child counts as the zero state)::

    i_j  = σ(W_i x_j + Σ_ℓ U_iℓ h_jℓ + b_i)
    f_jk = σ(W_f x_j + Σ_ℓ U_fkℓ h_jℓ + b_f)       k = 0 .. n-1: the full U_f of the paper
    g_j  = tanh(W_g x_j + Σ_ℓ U_gℓ h_jℓ + b_g)
    o_j  = σ(W_o x_j + Σ_ℓ U_oℓ h_jℓ + b_o)
    c_j  = i_j ⊙ g_j + Σ_ℓ f_jℓ ⊙ c_jℓ
    h_j  = o_j ⊙ tanh(c_j)

With the children's states side by side, ``h_cat = [h_j0; ...; h_j,n-1]``
(``nH``), every recurrent term is one product ``weight_hh @ h_cat``::

    weight_ih (4H, D)        [W_i; W_f; W_g; W_o]     W_f and b_f are shared by the n forget gates
    weight_hh ((n+3)H, nH)   rows [U_i; U_f0; ...; U_f,n-1; U_g; U_o], columns one block per child
    bias_ih   (4H,)          optional, with bias_hh
    bias_hh   (4H,)

so ``weight_hh[H + kH : H + (k+1)H, ℓH : (ℓ+1)H]`` is the paper's ``U^(f)_kℓ``.
With ``n = 1`` the shapes and the values are the LSTM's again.

Every function is pure: forwards return ``(h, c, cache)``, backwards read the cache.
"""

from collections.abc import Mapping

import numpy as np

from lstmlib._checks import check_array_type, check_keys, check_positive_int, check_rank
from lstmlib.reference.activations import dsigmoid, dtanh, sigmoid
from lstmlib.reference.params import NUMPY_ARRAY, check_array, init_uniform
from lstmlib.trees import check_parent, children_lists, postorder

GATES = 4  # i, f, g, o
PARAM_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
CHILD_SUM_CACHE_KEYS = ("x", "parent", "order", "children", "h_sum", "i", "f", "g", "o", "c", "tanh_c", "h")
NARY_CACHE_KEYS = ("x", "parent", "order", "children", "h_children", "c_children", "i", "f", "g", "o", "c",
                   "tanh_c", "h")


# ---- parameters ------------------------------------------------------------------------------

def child_sum_param_shapes(input_size, hidden_size, bias=True):
    """``{key: shape}`` of a child-sum Tree-LSTM's parameters."""
    D, H = input_size, hidden_size
    shapes = {"weight_ih": (4 * H, D), "weight_hh": (4 * H, H)}
    if bias:
        shapes.update(bias_ih=(4 * H,), bias_hh=(4 * H,))
    return shapes


def nary_param_shapes(input_size, hidden_size, n_ary, bias=True):
    """``{key: shape}`` of an N-ary Tree-LSTM's parameters."""
    D, H, n = input_size, hidden_size, n_ary
    shapes = {"weight_ih": (4 * H, D), "weight_hh": ((n + 3) * H, n * H)}
    if bias:
        shapes.update(bias_ih=(4 * H,), bias_hh=(4 * H,))
    return shapes


def init_child_sum_tree_lstm_params(input_size, hidden_size, rng=None, dtype=np.float64, bias=True):
    """Child-sum Tree-LSTM parameters, every entry ~ uniform(±1/sqrt(H)) as torch's LSTM.

    Returns ``{weight_ih: (4H, D), weight_hh: (4H, H), bias_ih: (4H,), bias_hh: (4H,)}``
    (no biases with ``bias=False``). rng: None, an int seed or a Generator.
    """
    D, H = check_positive_int("input_size", input_size), check_positive_int("hidden_size", hidden_size)
    return init_uniform(child_sum_param_shapes(D, H, _check_bias(bias)), 1 / np.sqrt(H), rng=rng, dtype=dtype)


def init_nary_tree_lstm_params(input_size, hidden_size, n_ary, rng=None, dtype=np.float64, bias=True):
    """N-ary Tree-LSTM parameters, every entry ~ uniform(±1/sqrt(H)).

    Returns ``{weight_ih: (4H, D), weight_hh: ((n+3)H, nH), bias_ih: (4H,), bias_hh: (4H,)}``
    with ``n = n_ary`` (no biases with ``bias=False``).
    """
    D, H = check_positive_int("input_size", input_size), check_positive_int("hidden_size", hidden_size)
    n = check_positive_int("n_ary", n_ary)
    return init_uniform(nary_param_shapes(D, H, n, _check_bias(bias)), 1 / np.sqrt(H), rng=rng, dtype=dtype)


# ---- child-sum -------------------------------------------------------------------------------

def child_sum_tree_lstm_forward(params, x, parent):
    """Run a child-sum Tree-LSTM over a forest, node by node in post-order.
    Book: :eq:`child-sum-tree-lstm` (chapter II.4, Tree-LSTMs: child-sum and N-ary).

    x: (N, D) node inputs; parent: (N,) integers, -1 for a root. Returns
    h: (N, H), c: (N, H) (the state of every node) and a cache for
    :func:`child_sum_tree_lstm_backward`. In the cache, ``f[k]`` is the forget
    gate node k's parent applies to ``c_k`` (zero for a root).
    """
    D, H = _check_child_sum_params(params)
    parent = _check_forest("x", x, parent, D, params, n_ary=None)
    N = x.shape[0]
    children, order = children_lists(parent), postorder(parent)
    W_ih, W_hh, b = params["weight_ih"], params["weight_hh"], _bias(params)
    U_f, U_igo = W_hh[H:2 * H], np.concatenate([W_hh[:H], W_hh[2 * H:]])  # (H, H), (3H, H)
    h_sum, i, f, g, o, c, tanh_c, h = (np.zeros((N, H), x.dtype) for _ in range(8))
    for j in order.tolist():
        kids = children[j]
        # h̃_j = Σ_k h_k
        h_sum[j] = h[kids].sum(axis=0)
        # a_x = W x_j + b, the input part of all four gates' pre-activations   (4H,)
        a_xi, a_xf, a_xg, a_xo = np.split(W_ih @ x[j] + b, GATES)
        # [a_hi; a_hg; a_ho] = U h̃_j, the recurrent part of the three gates that see the children's sum
        a_hi, a_hg, a_ho = np.split(U_igo @ h_sum[j], 3)
        # i_j = σ(W_i x_j + U_i h̃_j + b_i)
        i[j] = sigmoid(a_xi + a_hi)
        # f_jk = σ(W_f x_j + U_f h_k + b_f), one row per child k
        f[kids] = sigmoid(a_xf + h[kids] @ U_f.T)
        # g_j = tanh(W_g x_j + U_g h̃_j + b_g)
        g[j] = np.tanh(a_xg + a_hg)
        # o_j = σ(W_o x_j + U_o h̃_j + b_o)
        o[j] = sigmoid(a_xo + a_ho)
        # c_j = i_j ⊙ g_j + Σ_k f_jk ⊙ c_k
        c[j] = i[j] * g[j] + (f[kids] * c[kids]).sum(axis=0)
        # h_j = o_j ⊙ tanh(c_j)
        tanh_c[j] = np.tanh(c[j])
        h[j] = o[j] * tanh_c[j]
    cache = dict(x=x, parent=parent, order=order, children=children, h_sum=h_sum, i=i, f=f, g=g, o=o, c=c,
                 tanh_c=tanh_c, h=h)
    return h, c, cache


def child_sum_tree_lstm_backward(params, cache, dh, dc):
    """Backward of :func:`child_sum_tree_lstm_forward`: the nodes in reverse post-order.

    dh, dc: (N, H) = ∂L/∂h, ∂L/∂c for every node, from outside the tree (the
    loss; e.g. non-zero only at the roots). Returns ``dparams`` (keys of
    ``params``) and dx: (N, D).
    """
    D, H = _check_child_sum_params(params)
    _check_backward_inputs(params, cache, dh, dc, D, H, CHILD_SUM_CACHE_KEYS, "child_sum_tree_lstm_forward")
    x, children, h, c, h_sum = cache["x"], cache["children"], cache["h"], cache["c"], cache["h_sum"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    U_f, U_igo = W_hh[H:2 * H], np.concatenate([W_hh[:H], W_hh[2 * H:]])
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(4 * H, dh.dtype)
    dU_f, dU_igo = dW_hh[H:2 * H], np.zeros_like(U_igo)  # dU_f is a view: adds land in dW_hh
    dx = np.zeros_like(x)
    # A node's total gradient = what the loss sends + what its parent sends;
    # parents come before children in reverse post-order, so it is complete when read.
    dh, dc = dh.copy(), dc.copy()
    for j in reversed(cache["order"].tolist()):
        kids = children[j]
        # h_j = o_j ⊙ tanh(c_j)
        do = dh[j] * tanh_c[j]
        dc_j = dc[j] + dh[j] * o[j] * dtanh(tanh_c[j])
        # c_j = i_j ⊙ g_j + Σ_k f_jk ⊙ c_k
        di, dg = dc_j * g[j], dc_j * i[j]
        df = dc_j * c[kids]  # (children, H)
        dc[kids] += dc_j * f[kids]
        # o_j = σ(a_o), g_j = tanh(a_g), i_j = σ(a_i), f_jk = σ(a_fk)
        da_o, da_g, da_i = do * dsigmoid(o[j]), dg * dtanh(g[j]), di * dsigmoid(i[j])
        da_f = df * dsigmoid(f[kids])  # (children, H)
        # a_fk = W_f x_j + U_f h_k + b_f
        dh[kids] += da_f @ U_f
        dU_f += da_f.T @ h[kids]
        # [a_hi; a_hg; a_ho] = U h̃_j
        da_igo = np.concatenate([da_i, da_g, da_o])
        dU_igo += np.outer(da_igo, h_sum[j])
        # h̃_j = Σ_k h_k: every child gets the whole gradient of the sum
        dh[kids] += da_igo @ U_igo
        # a_x = W x_j + b; the forget gates of all children share W_f x_j + b_f
        da_x = np.concatenate([da_i, da_f.sum(axis=0), da_g, da_o])
        dW_ih += np.outer(da_x, x[j])
        db += da_x
        dx[j] = da_x @ W_ih
    dW_hh[:H], dW_hh[2 * H:] = dU_igo[:H], dU_igo[H:]
    return _dparams(params, dW_ih, dW_hh, db), dx


# ---- N-ary -----------------------------------------------------------------------------------

def nary_tree_lstm_forward(params, x, parent):
    """Run an N-ary Tree-LSTM over a forest, node by node in post-order.
    Book: :eq:`nary-tree-lstm` (chapter II.4, Tree-LSTMs: child-sum and N-ary).

    ``n`` is read from ``params`` (``weight_hh: ((n+3)H, nH)``); no node may
    have more than n children. x: (N, D); parent: (N,) integers, -1 for a
    root. Returns h: (N, H), c: (N, H) and a cache for :func:`nary_tree_lstm_backward`.
    """
    D, H, n = _check_nary_params(params)
    parent = _check_forest("x", x, parent, D, params, n_ary=n)
    N = x.shape[0]
    children, order = children_lists(parent), postorder(parent)
    W_ih, W_hh, b = params["weight_ih"], params["weight_hh"], _bias(params)
    h_children, c_children = np.zeros((N, n, H), x.dtype), np.zeros((N, n, H), x.dtype)
    f = np.zeros((N, n, H), x.dtype)
    i, g, o, c, tanh_c, h = (np.zeros((N, H), x.dtype) for _ in range(6))
    for j in order.tolist():
        kids = children[j]
        # the ℓ-th child's state in slot ℓ; the slots of missing children stay zero
        h_children[j, :len(kids)], c_children[j, :len(kids)] = h[kids], c[kids]
        # a_x = W x_j + b, the input part of the pre-activations   (4H,)
        a_xi, a_xf, a_xg, a_xo = np.split(W_ih @ x[j] + b, GATES)
        # a_h = U h_cat, h_cat = [h_j0; ...; h_j,n-1]: rows [a_hi; a_hf0 .. a_hf,n-1; a_hg; a_ho]
        a_h = W_hh @ h_children[j].reshape(n * H)
        a_hi, a_hf = a_h[:H], a_h[H:(n + 1) * H].reshape(n, H)
        a_hg, a_ho = a_h[(n + 1) * H:(n + 2) * H], a_h[(n + 2) * H:]
        # i_j = σ(W_i x_j + Σ_ℓ U_iℓ h_jℓ + b_i)
        i[j] = sigmoid(a_xi + a_hi)
        # f_jk = σ(W_f x_j + Σ_ℓ U_fkℓ h_jℓ + b_f), k = 0 .. n-1
        f[j] = sigmoid(a_xf + a_hf)
        # g_j = tanh(W_g x_j + Σ_ℓ U_gℓ h_jℓ + b_g)
        g[j] = np.tanh(a_xg + a_hg)
        # o_j = σ(W_o x_j + Σ_ℓ U_oℓ h_jℓ + b_o)
        o[j] = sigmoid(a_xo + a_ho)
        # c_j = i_j ⊙ g_j + Σ_ℓ f_jℓ ⊙ c_jℓ
        c[j] = i[j] * g[j] + (f[j] * c_children[j]).sum(axis=0)
        # h_j = o_j ⊙ tanh(c_j)
        tanh_c[j] = np.tanh(c[j])
        h[j] = o[j] * tanh_c[j]
    cache = dict(x=x, parent=parent, order=order, children=children, h_children=h_children,
                 c_children=c_children, i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c, h=h)
    return h, c, cache


def nary_tree_lstm_backward(params, cache, dh, dc):
    """Backward of :func:`nary_tree_lstm_forward`: the nodes in reverse post-order.

    dh, dc: (N, H) = ∂L/∂h, ∂L/∂c for every node from outside the tree.
    Returns ``dparams`` (keys of ``params``) and dx: (N, D).
    """
    D, H, n = _check_nary_params(params)
    _check_backward_inputs(params, cache, dh, dc, D, H, NARY_CACHE_KEYS, "nary_tree_lstm_forward")
    x, children, h_children, c_children = cache["x"], cache["children"], cache["h_children"], cache["c_children"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(4 * H, dh.dtype)
    dx = np.zeros_like(x)
    dh, dc = dh.copy(), dc.copy()  # accumulate what parents send, as in the child-sum backward
    for j in reversed(cache["order"].tolist()):
        kids = children[j]
        # h_j = o_j ⊙ tanh(c_j)
        do = dh[j] * tanh_c[j]
        dc_j = dc[j] + dh[j] * o[j] * dtanh(tanh_c[j])
        # c_j = i_j ⊙ g_j + Σ_ℓ f_jℓ ⊙ c_jℓ
        di, dg = dc_j * g[j], dc_j * i[j]
        df = dc_j * c_children[j]  # (n, H); zero in the slots of missing children
        dc[kids] += (dc_j * f[j])[:len(kids)]
        # o_j = σ(a_o), g_j = tanh(a_g), i_j = σ(a_i), f_jk = σ(a_fk)
        da_o, da_g, da_i = do * dsigmoid(o[j]), dg * dtanh(g[j]), di * dsigmoid(i[j])
        da_f = df * dsigmoid(f[j])  # (n, H)
        # a_h = U h_cat, rows [a_hi; a_hf0 .. a_hf,n-1; a_hg; a_ho]
        da_h = np.concatenate([da_i, da_f.reshape(n * H), da_g, da_o])
        dW_hh += np.outer(da_h, h_children[j].reshape(n * H))
        dh[kids] += (da_h @ W_hh).reshape(n, H)[:len(kids)]
        # a_x = W x_j + b; the n forget gates share W_f x_j + b_f
        da_x = np.concatenate([da_i, da_f.sum(axis=0), da_g, da_o])
        dW_ih += np.outer(da_x, x[j])
        db += da_x
        dx[j] = da_x @ W_ih
    return _dparams(params, dW_ih, dW_hh, db), dx


# ---- shared pieces ---------------------------------------------------------------------------

def _bias(params):
    """b = bias_ih + bias_hh, or zeros without biases: (4H,)."""
    if "bias_ih" in params:
        return params["bias_ih"] + params["bias_hh"]
    return np.zeros(params["weight_ih"].shape[0], params["weight_ih"].dtype)


def _dparams(params, dW_ih, dW_hh, db):
    dparams = {"weight_ih": dW_ih, "weight_hh": dW_hh}
    if "bias_ih" in params:
        # b = bias_ih + bias_hh: both get the whole gradient
        dparams.update(bias_ih=db, bias_hh=db.copy())
    return dparams


def _check_bias(bias):
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool (True or False); got {type(bias).__name__} {bias!r}")
    return bias


def _check_param_dict(params):
    """Keys (both biases or neither) and the two weights' types and ranks; return the bias flag."""
    check_array_type("params", params, Mapping, "a dict of NumPy arrays keyed like the module's state_dict")
    if any(str(key).endswith("_l0") for key in params):
        raise ValueError(f"params must have the keys {list(PARAM_KEYS)} (torch.nn.LSTMCell's names: a Tree-LSTM "
                         f"has no layers, so no '_l0' suffix); got {list(params)}")
    bias = "bias_ih" in params or "bias_hh" in params
    check_keys("params", params, list(PARAM_KEYS if bias else PARAM_KEYS[:2]))
    for key, layout in (("weight_ih", "(4H, D)"), ("weight_hh", "(4H, H) or ((n+3)H, nH)")):
        check_array_type(f"params['{key}']", params[key], np.ndarray, NUMPY_ARRAY)
        check_rank(f"params['{key}']", params[key], (2,), layout)
    return bias


def _check_all_params(params, shapes, layouts):
    ref = ("params['weight_ih']", params["weight_ih"])  # every entry shares its dtype
    for key in shapes:
        check_array(f"params['{key}']", params[key], shapes[key], layouts[key], like=ref)


def _check_child_sum_params(params):
    """Validate child-sum parameters; return ``(D, H)`` (H from ``weight_hh``, as for the LSTM)."""
    bias = _check_param_dict(params)
    H, D = params["weight_hh"].shape[1], params["weight_ih"].shape[1]
    layouts = {"weight_ih": "(4H, D)", "weight_hh": "(4H, H)", "bias_ih": "(4H,)", "bias_hh": "(4H,)"}
    _check_all_params(params, child_sum_param_shapes(D, H, bias), layouts)
    return D, H


def _check_nary_params(params):
    """Validate N-ary parameters; return ``(D, H, n)`` (H from ``weight_ih``, n from ``weight_hh``)."""
    bias = _check_param_dict(params)
    rows, D = params["weight_ih"].shape
    if rows == 0 or rows % 4:
        raise ValueError(f"params['weight_ih'] must have shape (4H, D), 4H rows for the gates i, f, g, o; "
                         f"got {rows} rows")
    H, cols = rows // 4, params["weight_hh"].shape[1]
    if cols == 0 or cols % H:
        raise ValueError(f"params['weight_hh'] must have shape ((n+3)H, nH), n*H columns with H={H} "
                         f"(from weight_ih); got {cols} columns, not a positive multiple of {H}")
    layouts = {"weight_ih": "(4H, D)", "weight_hh": "((n+3)H, nH)", "bias_ih": "(4H,)", "bias_hh": "(4H,)"}
    _check_all_params(params, nary_param_shapes(D, H, cols // H, bias), layouts)
    return D, H, cols // H


def _check_forest(name, x, parent, D, params, n_ary):
    """Validate ``x: (N, D)`` and its forest ``parent: (N,)``; return parent as int64."""
    ref = ("params['weight_ih']", params["weight_ih"])
    N = check_array(name, x, (None, D), "(N, D)", like=ref)[0]
    parent = check_parent(parent, n_ary=n_ary)
    if parent.shape[0] != N:
        raise ValueError(f"parent must have one entry per node, the N={N} rows of {name} (N, D); "
                         f"got shape {parent.shape}")
    return parent


def _check_backward_inputs(params, cache, dh, dc, D, H, keys, producer):
    check_array_type("cache", cache, dict, f"the cache dict returned by {producer}")
    check_keys("cache", cache, keys)
    ref = ("params['weight_ih']", params["weight_ih"])
    N = check_array("cache['x']", cache["x"], (None, D), "(N, D)", like=ref)[0]
    check_array("cache['h']", cache["h"], (N, H), "(N, H)", like=ref)
    check_array("dh", dh, (N, H), "(N, H)", like=ref)
    check_array("dc", dc, (N, H), "(N, H)", like=ref)
