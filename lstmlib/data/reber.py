"""The Reber grammar, the embedded Reber grammar and its continual stream.

The **Reber grammar** is a small finite-state machine that writes strings over
the seven symbols ``B, T, P, S, X, V, E`` (:data:`SYMBOLS`). Starting with
``B``, it walks a graph of six nodes; where two edges leave a node it takes
either with probability 1/2, and it writes the symbol on each edge it takes,
until it writes ``E``::

    start --B--> 1
    1 --T--> 2      1 --P--> 3
    2 --S--> 2      2 --X--> 4
    3 --T--> 3      3 --V--> 5
    4 --X--> 3      4 --S--> 6
    5 --P--> 4      5 --V--> 6
    6 --E--> end

``BTXSE``, ``BPVVE`` and ``BTSSXXTVVE`` are Reber strings; ``BTSSSE`` is not.
Which symbols may come next depends on the node, not on the last symbol
alone (after a ``T``, an ``S`` is legal only if the ``T`` followed the ``B``),
so predicting them needs a little memory.

The **embedded Reber grammar** wraps a Reber string between two copies of one
symbol: ``B T <Reber string> T E`` or ``B P <Reber string> P E``, each with
probability 1/2. Everything inside is predictable from the recent past except
the second-to-last symbol, which must repeat the second symbol of the string,
seen a whole Reber string earlier. Hochreiter & Schmidhuber (1997, experiment
1) used it to show that LSTM bridges that gap where earlier recurrent networks
fail.

The task is to predict, after each symbol, **every symbol that may legally
come next**: a multi-hot target over the seven symbols, since the grammar
itself is random where two edges leave a node. A network has learned a
string when, at every step, the outputs of the legal symbols are on and the
others off.

The **continual embedded Reber grammar** (Gers, Schmidhuber & Cummins, 2000)
concatenates embedded Reber strings into one stream with no marker between
them other than the grammar's own ``E`` and ``B``, and never resets the
network between strings. A network must then also learn to clean out its
memory at the end of each string; without a forget gate its cell states grow
without bound (the point of that paper). After the final ``E`` of a string
comes the next string's ``B``, so in a stream that ``B`` is the one legal
next symbol. The **critical positions** (:func:`critical_positions`) are the
steps whose input is the ``E`` that closes the inner Reber string: the one
legal next symbol there is the second symbol of the embedded string, and
only a network that remembered it predicts it.

Encodings: symbol ``k`` of :data:`SYMBOLS` is channel ``k`` of a one-hot
vector; arrays are time-major, ``(T, B, 7)``, like every generator in
:mod:`lstmlib.data`. Generation runs all strings of a batch in lockstep with
NumPy, so thousands of strings take milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmlib._checks import (
    check_array_type,
    check_axis_size,
    check_bool,
    check_float_dtype,
    check_nonempty_time,
    check_positive_int,
    check_rank,
    check_rng,
)

__all__ = [
    "SYMBOLS",
    "N_SYMBOLS",
    "reber_strings",
    "is_reber",
    "legal_next",
    "encode_strings",
    "decode_strings",
    "continual_reber_stream",
    "critical_positions",
]

SYMBOLS = "BTPSXVE"
N_SYMBOLS = len(SYMBOLS)
_INDEX = {symbol: k for k, symbol in enumerate(SYMBOLS)}
_B, _T, _P, _S, _X, _V, _E = range(N_SYMBOLS)

# The Reber graph as (node, symbol, next node); node 0 is "before B" and 7 is "after E".
_REBER_EDGES = [
    (0, _B, 1),
    (1, _T, 2), (1, _P, 3),
    (2, _S, 2), (2, _X, 4),
    (3, _T, 3), (3, _V, 5),
    (4, _X, 3), (4, _S, 6),
    (5, _P, 4), (5, _V, 6),
    (6, _E, 7),
]
_REBER_NODES = 8


class _Automaton:
    """A finite-state generator with at most two edges per state, as lookup tables.

    ``step[state, symbol]`` is the state after writing ``symbol`` (-1: illegal);
    ``edge_symbol[state, k]`` / ``edge_next[state, k]`` are the ``n_edges[state]``
    edges that leave ``state`` (each taken with probability ``1 / n_edges``);
    ``legal[state]`` is the multi-hot set of symbols that may follow. ``final``
    is the state after the last ``E``; ``critical`` marks the states whose
    next symbol must repeat the string's second symbol.
    """

    def __init__(self, edges, n_states: int, final: int, critical=()):
        self.n_states, self.start, self.final = n_states, 0, final
        self.step = np.full((n_states, N_SYMBOLS), -1, dtype=np.int64)
        self.edge_symbol = np.zeros((n_states, 2), dtype=np.int64)
        self.edge_next = np.zeros((n_states, 2), dtype=np.int64)
        self.n_edges = np.zeros(n_states, dtype=np.int64)
        for state, symbol, nxt in edges:
            k = self.n_edges[state]
            self.edge_symbol[state, k], self.edge_next[state, k] = symbol, nxt
            self.n_edges[state] += 1
            self.step[state, symbol] = nxt
        self.legal = self.step >= 0  # (states, 7) bool
        self.critical = np.zeros(n_states, dtype=bool)
        self.critical[list(critical)] = True
        self.mean_length = self._expected_symbols()[self.start]

    def _expected_symbols(self) -> np.ndarray:
        """Expected number of symbols still to be written from each state, final E included.

        Solves ``n(s) = 1 + mean over the edges s -> s' of n(s')`` with ``n(final) = 0``.
        """
        system = np.eye(self.n_states)
        rhs = np.zeros(self.n_states)
        for state in range(self.n_states):
            if state == self.final:
                continue
            rhs[state] = 1.0
            for k in range(self.n_edges[state]):
                system[state, self.edge_next[state, k]] -= 1.0 / self.n_edges[state]
        return np.linalg.solve(system, rhs)


def _embedded_edges():
    """The embedded grammar: B, then T or P, a copy of the Reber graph per branch, the same T or P, E."""
    edges = [(0, _B, 1)]
    offsets = {_T: 2, _P: 2 + _REBER_NODES}  # where each branch's copy of the Reber graph starts
    closing = 2 + 2 * _REBER_NODES  # the state before the final E
    for branch, offset in offsets.items():
        edges.append((1, branch, offset))
        edges += [(offset + a, symbol, offset + b) for a, symbol, b in _REBER_EDGES]
        # after the inner E (offset + 7) the branch symbol must come again: the long-range dependency
        edges.append((offset + _REBER_NODES - 1, branch, closing))
    edges.append((closing, _E, closing + 1))
    inner_ends = [offset + _REBER_NODES - 1 for offset in offsets.values()]
    return edges, closing + 2, closing + 1, inner_ends


_REBER = _Automaton(_REBER_EDGES, _REBER_NODES, final=_REBER_NODES - 1)
_edges, _n, _final, _inner_ends = _embedded_edges()
_EMBEDDED = _Automaton(_edges, _n, final=_final, critical=_inner_ends)


def _grammar(embedded: bool) -> _Automaton:
    return _EMBEDDED if check_bool("embedded", embedded) else _REBER


def _walk(grammar: _Automaton, n_walks: int, gen: np.random.Generator):
    """Run ``n_walks`` independent walks from the start state until each writes its final ``E``.

    Returns:
        symbols: (L, n) int64, symbol indices, padded with -1 after each walk's E;
        states: (L, n) int64, the state after each symbol (-1 on padding);
        lengths: (n,) int64, symbols per walk, E included.
    """
    state = np.full(n_walks, grammar.start)
    lengths = np.zeros(n_walks, dtype=np.int64)
    symbols, states = [], []
    running = np.ones(n_walks, dtype=bool)
    while running.any():
        # one coin per walk and step; a state with a single edge ignores its coin
        coin = gen.random(n_walks) < 0.5
        k = np.where(grammar.n_edges[state] == 2, coin, 0)
        symbol = np.where(running, grammar.edge_symbol[state, k], -1)
        state = np.where(running, grammar.edge_next[state, k], state)
        symbols.append(symbol)
        states.append(np.where(running, state, -1))
        lengths += running
        running = running & (state != grammar.final)
    return np.stack(symbols), np.stack(states), lengths


def reber_strings(n_strings: int, embedded: bool = False, rng=None) -> list[str]:
    """Draw ``n_strings`` strings of the (embedded) Reber grammar.

    Args:
        n_strings: how many strings.
        embedded: False for Reber strings (``B...E``), True for embedded ones
            (``BT<Reber string>TE`` or ``BP<Reber string>PE``).
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).

    Returns:
        strings: list of ``n_strings`` str over :data:`SYMBOLS`, each starting
        with ``B`` and ending with ``E``. Every choice between two edges is a
        fair coin; the shortest Reber string has 5 symbols, the shortest
        embedded one 9, and loops make longer ones ever rarer.
    """
    n_strings = check_positive_int("n_strings", n_strings)
    grammar = _grammar(embedded)
    gen = check_rng("rng", rng)
    symbols, _, lengths = _walk(grammar, n_strings, gen)
    letters = np.array(list(SYMBOLS))[symbols.T]  # (n, L); padding (-1) reads 'E' and is cut off below
    return ["".join(row[:n]) for row, n in zip(letters, lengths)]


def _check_string(name: str, string: Any) -> str:
    if not isinstance(string, str):
        raise TypeError(f"{name} must be a str over the symbols {SYMBOLS!r}; got {type(string).__name__}")
    if not string:
        raise ValueError(f"{name} must be a non-empty string; got ''")
    bad = sorted(set(string) - set(SYMBOLS))
    if bad:
        raise ValueError(f"{name} must use only the symbols {SYMBOLS!r}; got {''.join(bad)!r} in {string!r}")
    return string


def _states(grammar: _Automaton, string: str) -> np.ndarray | None:
    """The state after each symbol of ``string``, or None if some symbol is illegal where it stands."""
    states = np.empty(len(string), dtype=np.int64)
    state = grammar.start
    for t, letter in enumerate(string):
        state = grammar.step[state, _INDEX[letter]] if state >= 0 else -1
        if state < 0:
            return None
        states[t] = state
    return states


def is_reber(string: str, embedded: bool = False) -> bool:
    """True if ``string`` is a complete string of the (embedded) Reber grammar.

    A complete string starts at ``B``, follows the graph edge by edge and ends
    with its final ``E``; a legal prefix (``"BTSS"``) is not complete.

    Raises:
        TypeError / ValueError: ``string`` is not a non-empty str over :data:`SYMBOLS`.
    """
    grammar = _grammar(embedded)
    string = _check_string("string", string)
    states = _states(grammar, string)
    return states is not None and states[-1] == grammar.final


def legal_next(string: str, embedded: bool = False) -> np.ndarray:
    """The symbols that may follow each prefix of ``string``: the prediction targets.

    Args:
        string: a complete string of the grammar, or a legal prefix of one.
        embedded: which grammar.

    Returns:
        legal: (L, 7) bool, ``legal[t, k]`` is True if symbol ``SYMBOLS[k]``
        may follow ``string[: t + 1]``. After a complete string's final ``E``
        nothing follows: its row is all False.

    Raises:
        ValueError: ``string`` is not a legal prefix; the message names the
        first symbol that breaks the grammar.
    """
    grammar = _grammar(embedded)
    string = _check_string("string", string)
    state = grammar.start
    legal = np.zeros((len(string), N_SYMBOLS), dtype=bool)
    for t, letter in enumerate(string):
        state = grammar.step[state, _INDEX[letter]] if state >= 0 else -1
        if state < 0:
            kind = "an embedded Reber" if embedded else "a Reber"
            raise ValueError(
                f"string must be {kind} string or a prefix of one; got {string!r}, whose symbol "
                f"{letter!r} at position {t} cannot follow {string[:t]!r}"
            )
        legal[t] = grammar.legal[state]
    return legal


def encode_strings(strings: Sequence[str], embedded: bool = False, dtype=np.float32):
    """One-hot inputs and multi-hot next-symbol targets for a batch of complete strings.

    String ``b`` of length ``L_b`` gives ``L_b - 1`` steps: the inputs are its
    symbols except the final ``E`` (nothing follows it, so there is nothing to
    predict), and the target at step ``t`` is the set of symbols that may
    follow ``s_0 .. s_t`` (:func:`legal_next`). Shorter strings are padded
    with zeros up to the longest; ``lengths`` says where each one ends
    (:func:`lstmlib.masking.lengths_to_mask` turns it into a mask).

    Args:
        strings: B complete strings of the grammar.
        embedded: which grammar they belong to.
        dtype: floating-point dtype of ``x`` and ``targets``.

    Returns:
        x: (T, B, 7) one-hot inputs, ``T = max(L_b) - 1``; zeros after step ``L_b - 2``.
        targets: (T, B, 7) multi-hot, ``targets[t, b, k] = 1`` if ``SYMBOLS[k]``
            may come after the input at step ``t``; zeros on padding.
        lengths: (B,) int64, ``L_b - 1``, the real steps of each string.

    Raises:
        ValueError: an entry is not a complete string of the grammar.
    """
    grammar = _grammar(embedded)
    dtype = check_float_dtype("dtype", dtype)
    if isinstance(strings, str) or not isinstance(strings, Sequence):
        raise TypeError(f"strings must be a list of str; got {type(strings).__name__}")
    if len(strings) == 0:
        raise ValueError("strings must hold at least one string; got an empty list")
    states = []
    for b, string in enumerate(strings):
        s = _states(grammar, _check_string(f"strings[{b}]", string))
        if s is None or s[-1] != grammar.final:
            kind = "an embedded Reber" if embedded else "a Reber"
            raise ValueError(f"strings[{b}] must be {kind} string (complete, B to final E); got {string!r}")
        states.append(s)
    lengths = np.array([len(s) - 1 for s in strings], dtype=np.int64)
    x = np.zeros((int(lengths.max()), len(strings), N_SYMBOLS), dtype=dtype)
    targets = np.zeros_like(x)
    for b, (string, s) in enumerate(zip(strings, states)):
        n = lengths[b]
        x[np.arange(n), b, [_INDEX[letter] for letter in string[:n]]] = 1
        targets[:n, b] = grammar.legal[s[:n]]
    return x, targets, lengths


def _symbol_indices(name: str, x: Any) -> np.ndarray:
    """A one-hot (T, B, 7) stream as (T, B) symbol indices; every step must be exactly one-hot."""
    check_array_type(name, x, np.ndarray, "a NumPy array (T, B, 7) of one-hot symbols")
    check_rank(name, x, (3,), "(T, B, 7)")
    check_axis_size(name, x, 2, N_SYMBOLS, "D", "(T, B, 7)")
    check_nonempty_time(name, x)
    if not (np.all((x == 0) | (x == 1)) and np.all(x.sum(axis=2) == 1)):
        raise ValueError(f"{name} must be one-hot: exactly one 1 per step and 0 elsewhere")
    return x.argmax(axis=2)  # (T, B)


def decode_strings(x: np.ndarray) -> list[str]:
    """The symbols of a one-hot batch ``x`` (T, B, 7) as B strings of length T.

    Padding (all-zero steps, as :func:`encode_strings` leaves them) is dropped.
    """
    check_array_type("x", x, np.ndarray, "a NumPy array (T, B, 7)")
    check_rank("x", x, (3,), "(T, B, 7)")
    check_axis_size("x", x, 2, N_SYMBOLS, "D", "(T, B, 7)")
    letters = np.array(list(SYMBOLS))
    present = x.sum(axis=2) > 0  # (T, B)
    index = x.argmax(axis=2)  # (T, B)
    return ["".join(letters[index[present[:, b], b]]) for b in range(x.shape[1])]


def continual_reber_stream(batch_size: int, length: int, embedded: bool = True, rng=None,
                           dtype=np.float32):
    """B streams of concatenated (embedded) Reber strings, with next-symbol targets.

    Each stream is a sequence of independent strings written back to back,
    cut at ``length`` steps (the last string is usually unfinished), as in
    the continual embedded Reber grammar of Gers et al. (2000). Every stream
    starts at the beginning of a string.

    The target at step ``t`` is the set of symbols that may come at step
    ``t + 1``: within a string as for :func:`legal_next`, and ``{B}`` after a
    string's final ``E``, since the next string starts there.

    Args:
        batch_size: B, number of streams.
        length: T, steps per stream.
        embedded: True (the default, as in Gers et al.) for embedded Reber
            strings, False for plain Reber strings.
        rng: None, an int seed or a ``numpy.random.Generator`` (advanced in place).
        dtype: floating-point dtype of ``x`` and ``targets``.

    Returns:
        x: (T, B, 7) one-hot symbols.
        targets: (T, B, 7) multi-hot, the legal symbols for step ``t + 1``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    length = check_positive_int("length", length)
    grammar = _grammar(embedded)
    dtype = check_float_dtype("dtype", dtype)
    gen = check_rng("rng", rng)
    legal = grammar.legal.copy()
    legal[grammar.final, _B] = True  # in a stream, the next string's B follows the final E
    # Draw a pool of strings, laid end to end in one flat array, enough to cut B
    # windows of T symbols from it, each starting where a string starts.
    flat_symbols, flat_states, starts = [], [], []
    end = 0  # symbols in the pool so far
    needed = batch_size * length
    while True:
        n_strings = int(np.ceil(1.1 * needed / grammar.mean_length)) + batch_size
        walk_symbols, walk_states, walk_lengths = _walk(grammar, n_strings, gen)
        real = np.arange(walk_symbols.shape[0])[:, None] < walk_lengths  # (L, n): not padding
        flat_symbols.append(walk_symbols.T[real.T])  # string after string
        flat_states.append(walk_states.T[real.T])
        starts.append(end + np.concatenate([[0], np.cumsum(walk_lengths)[:-1]]))
        end += int(walk_lengths.sum())
        all_starts = np.concatenate(starts)
        # stream b begins at the first string start at or after where stream b - 1 ended
        begins, position = [], 0
        for _ in range(batch_size):
            k = np.searchsorted(all_starts, position)
            if k == all_starts.size or all_starts[k] + length > end:
                break
            begins.append(int(all_starts[k]))
            position = begins[-1] + length
        if len(begins) == batch_size:
            break
        # too few symbols (a rare run of short strings): draw another pool and append it
    pool_symbols, pool_states = np.concatenate(flat_symbols), np.concatenate(flat_states)
    window = np.asarray(begins)[None, :] + np.arange(length)[:, None]  # (T, B) indices into the pool
    symbols, states = pool_symbols[window], pool_states[window]
    x = np.zeros((length, batch_size, N_SYMBOLS), dtype=dtype)
    np.put_along_axis(x, symbols[..., None], 1.0, axis=2)
    targets = legal[states].astype(dtype)  # (T, B, 7)
    return x, targets


def critical_positions(x: np.ndarray) -> np.ndarray:
    """Mark the steps of a continual embedded Reber stream where the long-range memory is needed.

    A step is critical when its input is the ``E`` that closes an embedded
    string's inner Reber string: the one legal next symbol there is the
    string's second symbol (``T`` or ``P``), seen a whole Reber string
    earlier. Every other prediction follows from the last few symbols.

    Args:
        x: (T, B, 7) one-hot stream that starts at the beginning of an
           embedded Reber string and follows the continual grammar (as
           :func:`continual_reber_stream` with ``embedded=True`` makes).

    Returns:
        critical: (T, B) bool.

    Raises:
        ValueError: ``x`` is not one-hot, or not a legal stream; the message
        names the first offending step and stream.
    """
    symbols = _symbol_indices("x", x)  # (T, B)
    grammar = _EMBEDDED
    step = grammar.step.copy()
    step[grammar.final] = step[grammar.start]  # the stream goes on with the next string's B
    state = np.full(symbols.shape[1], grammar.start)
    critical = np.zeros(symbols.shape, dtype=bool)
    for t in range(symbols.shape[0]):
        state = step[state, symbols[t]]
        if (state < 0).any():
            b = int(np.flatnonzero(state < 0)[0])
            raise ValueError(
                f"x must be a continual embedded Reber stream; stream {b} breaks the grammar at step {t} "
                f"with {SYMBOLS[symbols[t, b]]!r}"
            )
        critical[t] = grammar.critical[state]
    return critical
