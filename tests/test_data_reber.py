"""The Reber grammars of lstmlib.data.reber, checked against grammars written out independently here."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmlib.data.reber import (
    N_SYMBOLS,
    SYMBOLS,
    continual_reber_stream,
    critical_positions,
    decode_strings,
    encode_strings,
    is_reber,
    legal_next,
    reber_strings,
)

# The Reber graph as a transition table, node -> {symbol: next node}, written out
# apart from the library's edge list so that the two can check each other.
GRAPH = {
    "start": {"B": 1},
    1: {"T": 2, "P": 3},
    2: {"S": 2, "X": 4},
    3: {"T": 3, "V": 5},
    4: {"X": 3, "S": 6},
    5: {"P": 4, "V": 6},
    6: {"E": "end"},
    "end": {},
}
# The same language as a regular expression: from node 3 the walk loops through
# T*VPX any number of times, then leaves by T*V and either V or PS.
_FROM_3 = "(?:T*VPX)*T*V(?:V|PS)"
REBER = f"B(?:TS*X(?:S|X{_FROM_3})|P{_FROM_3})E"
EMBEDDED = f"B(?:T{REBER}T|P{REBER}P)E"

# Strings from the classic course notes on the grammar (Reber and not Reber).
KNOWN_REBER = ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTSXXVPSE", "BTXSE"]
KNOWN_NOT_REBER = ["BTSSPXSE", "BPTVVB", "BTXXVVSE", "BPVSPSE", "BTSSSE", "BTXS", "TXSE", "BTXSEE"]


def legal_after_each_prefix(string: str, embedded: bool, continual: bool = False) -> list[set[str]]:
    """The legal next symbols after each prefix, by walking GRAPH by hand."""
    if not embedded:
        sets, node = [], "start"
        for letter in string:
            node = GRAPH[node][letter]
            sets.append(set(GRAPH[node]) or ({"B"} if continual else set()))
        return sets
    # embedded: B, branch symbol, a Reber string, the branch symbol again, E
    sets = [{"T", "P"}, {"B"}]
    node = "start"
    for letter in string[2:-2]:
        node = GRAPH[node][letter]
        sets.append(set(GRAPH[node]) if node != "end" else {string[1]})
    return sets + [{"E"}, {"B"} if continual else set()]


def as_sets(multi_hot: np.ndarray) -> list[set[str]]:
    return [{SYMBOLS[k] for k in np.flatnonzero(row)} for row in multi_hot]


@pytest.mark.parametrize("string", KNOWN_REBER)
def test_known_reber_strings_are_accepted(string):
    assert re.fullmatch(REBER, string)  # the test's own grammar agrees with the literature
    assert is_reber(string)
    assert is_reber(f"BT{string}TE", embedded=True) and is_reber(f"BP{string}PE", embedded=True)
    assert not is_reber(string, embedded=True)


@pytest.mark.parametrize("string", KNOWN_NOT_REBER)
def test_known_non_reber_strings_are_rejected(string):
    assert not re.fullmatch(REBER, string)
    assert not is_reber(string)
    assert not is_reber(f"BT{string}TE", embedded=True)


def test_an_embedded_string_must_repeat_its_second_symbol():
    assert is_reber("BTBTXSETE", embedded=True)
    assert not is_reber("BTBTXSEPE", embedded=True)
    assert not is_reber("BPBTXSETE", embedded=True)


@pytest.mark.parametrize("embedded, pattern", [(False, REBER), (True, EMBEDDED)])
def test_every_generated_string_is_in_the_grammar(embedded, pattern):
    strings = reber_strings(3000, embedded=embedded, rng=0)
    assert len(strings) == 3000
    bad = [s for s in strings if not re.fullmatch(pattern, s)]
    assert bad == []
    assert all(is_reber(s, embedded) for s in strings[:200])


@pytest.mark.parametrize("embedded, mean", [(False, 8.0), (True, 12.0)])
def test_fair_coins_give_the_expected_lengths_and_branches(embedded, mean):
    strings = reber_strings(20000, embedded=embedded, rng=1)
    # Expected lengths solve n(node) = 1 + mean of n(next): 8 symbols per Reber string, 4 more when embedded.
    assert np.mean([len(s) for s in strings]) == pytest.approx(mean, abs=0.15)
    assert min(len(s) for s in strings) == (9 if embedded else 5)
    assert np.mean([s[1] == "T" for s in strings]) == pytest.approx(0.5, abs=0.015)


@pytest.mark.parametrize("embedded", [False, True])
def test_legal_next_matches_a_walk_through_the_transition_table(embedded):
    for string in reber_strings(300, embedded=embedded, rng=2):
        legal = legal_next(string, embedded)
        assert legal.shape == (len(string), N_SYMBOLS) and legal.dtype == bool
        assert as_sets(legal) == legal_after_each_prefix(string, embedded)


def test_legal_next_accepts_prefixes_and_names_the_offending_symbol():
    assert as_sets(legal_next("BTSS")) == [{"T", "P"}, {"S", "X"}, {"S", "X"}, {"S", "X"}]
    assert as_sets(legal_next("BPBTXSE", embedded=True))[-1] == {"P"}  # the critical prediction
    with pytest.raises(ValueError, match=r"symbol 'V' at position 2 cannot follow 'BT'"):
        legal_next("BTVE")
    with pytest.raises(ValueError, match="an embedded Reber string or a prefix"):
        legal_next("BTX", embedded=True)


@pytest.mark.parametrize("embedded", [False, True])
def test_encode_strings_gives_one_hot_inputs_multi_hot_targets_and_lengths(embedded):
    strings = reber_strings(40, embedded=embedded, rng=3)
    x, targets, lengths = encode_strings(strings, embedded=embedded)
    longest = max(len(s) for s in strings)
    assert x.shape == targets.shape == (longest - 1, 40, N_SYMBOLS) and x.dtype == targets.dtype == np.float32
    assert lengths.dtype == np.int64 and list(lengths) == [len(s) - 1 for s in strings]
    assert decode_strings(x) == [s[:-1] for s in strings]  # the final E is not an input
    steps = np.arange(longest - 1)[:, None]
    real = steps < lengths  # (T, B)
    assert np.array_equal(x.sum(axis=2), real.astype(np.float32))  # one-hot on real steps, zero padding
    assert np.all(targets[~real] == 0)
    for b, s in enumerate(strings):
        assert as_sets(targets[: lengths[b], b]) == legal_after_each_prefix(s, embedded)[:-1]
    assert encode_strings(strings[:2], embedded, dtype=np.float64)[0].dtype == np.float64


def test_generation_is_fast_enough_for_thousands_of_strings():
    # no timing assert (the machine is shared); the size shows the intended scale stays cheap
    assert len(reber_strings(5000, embedded=True, rng=4)) == 5000


@pytest.mark.parametrize("embedded, pattern", [(True, EMBEDDED), (False, REBER)])
def test_continual_stream_is_strings_back_to_back_with_stream_targets(embedded, pattern):
    x, targets = continual_reber_stream(4, 300, embedded=embedded, rng=5)
    assert x.shape == targets.shape == (300, 4, N_SYMBOLS) and x.dtype == np.float32
    assert np.array_equal(x.sum(axis=2), np.ones((300, 4)))
    for b, stream in enumerate(decode_strings(x)):
        expected, position = [], 0
        while True:  # cut the stream into complete strings, then one unfinished one
            match = re.match(pattern, stream[position:])
            if match is None:
                break
            expected += legal_after_each_prefix(match.group(), embedded, continual=True)
            position += match.end()
        assert position > 250  # the unfinished tail is short ...
        assert stream[position:position + 1] in ("", "B")  # ... and the start of another string
        assert as_sets(targets[:position, b]) == expected


def test_critical_positions_are_the_inner_ends_and_need_the_second_symbol():
    x, targets = continual_reber_stream(6, 400, rng=6)
    critical = critical_positions(x)
    assert critical.shape == (400, 6) and critical.dtype == bool
    for b, stream in enumerate(decode_strings(x)):
        expected = np.zeros(400, dtype=bool)
        for match in re.finditer(EMBEDDED, stream):
            string, start = match.group(), match.start()
            inner_end = start + len(string) - 3  # B, branch, Reber string ending in E, branch, E
            assert stream[inner_end] == "E"
            expected[inner_end] = True
            assert as_sets(targets[inner_end : inner_end + 1, b]) == [{string[1]}]
        # a string cut off by the window may still have reached its inner E
        tail = stream[match.end():]
        inner = re.match(f"B[TP]({REBER})", tail)
        if inner:
            expected[match.end() + inner.end() - 1] = True
        assert np.array_equal(critical[:, b], expected)
    assert critical.sum() > 6 * 400 / 13  # about one per string of 12 symbols


def test_critical_positions_rejects_illegal_streams():
    x, _ = continual_reber_stream(2, 50, rng=7)
    broken = x.copy()
    broken[1, 1] = 0
    broken[1, 1, SYMBOLS.index("S")] = 1  # second symbol S: not T or P
    with pytest.raises(ValueError, match="stream 1 breaks the grammar at step 1 with 'S'"):
        critical_positions(broken)
    plain, _ = continual_reber_stream(1, 50, embedded=False, rng=7)
    with pytest.raises(ValueError, match="continual embedded Reber stream"):
        critical_positions(plain)
    with pytest.raises(ValueError, match="must be one-hot"):
        critical_positions(x * 0.5)
    with pytest.raises(ValueError, match=r"x must have 3 dimensions \(T, B, 7\)"):
        critical_positions(x[:, 0])
    with pytest.raises(ValueError, match="x must have D=7 along axis 2"):
        critical_positions(x[:, :, :6])
    with pytest.raises(ValueError, match="at least one time step"):
        critical_positions(x[:0])
    with pytest.raises(TypeError, match="x must be a NumPy array"):
        critical_positions(x.tolist())


def test_same_seed_same_data_and_a_generator_is_advanced():
    assert reber_strings(20, rng=8) == reber_strings(20, rng=np.random.default_rng(8))
    gen = np.random.default_rng(8)
    assert reber_strings(20, rng=gen) != reber_strings(20, rng=gen)
    a, ta = continual_reber_stream(3, 60, rng=9)
    b, tb = continual_reber_stream(3, 60, rng=9)
    assert np.array_equal(a, b) and np.array_equal(ta, tb)
    assert not np.array_equal(a, continual_reber_stream(3, 60, rng=10)[0])


@pytest.mark.parametrize("call, error, match", [
    (lambda: reber_strings(0), ValueError, "n_strings must be a positive int"),
    (lambda: reber_strings(2.0), TypeError, "n_strings must be a positive int; got float"),
    (lambda: reber_strings(2, embedded=1), TypeError, "embedded must be a bool"),
    (lambda: reber_strings(2, rng=-1), ValueError, "rng must be a non-negative int seed"),
    (lambda: is_reber(["B"]), TypeError, "string must be a str"),
    (lambda: is_reber(""), ValueError, "string must be a non-empty string"),
    (lambda: is_reber("BTAE"), ValueError, r"only the symbols 'BTPSXVE'; got 'A'"),
    (lambda: legal_next("btxse"), ValueError, "only the symbols"),
    (lambda: encode_strings("BTXSE"), TypeError, "strings must be a list of str; got str"),
    (lambda: encode_strings([]), ValueError, "strings must hold at least one string"),
    (lambda: encode_strings(["BTXSE", "BTXS"]), ValueError, r"strings\[1\] must be a Reber string .*'BTXS'"),
    (lambda: encode_strings(["BTXSE"], embedded=True), ValueError, r"strings\[0\] must be an embedded Reber"),
    (lambda: encode_strings(["BTXSE", 5]), TypeError, r"strings\[1\] must be a str"),
    (lambda: encode_strings(["BTXSE"], dtype=np.int32), TypeError, "dtype must be a floating-point"),
    (lambda: continual_reber_stream(0, 10), ValueError, "batch_size must be a positive int"),
    (lambda: continual_reber_stream(2, 0), ValueError, "length must be a positive int"),
    (lambda: continual_reber_stream(2, 10, embedded="yes"), TypeError, "embedded must be a bool"),
    (lambda: continual_reber_stream(2, 10, rng="seed"), TypeError, "rng must be None, an int seed"),
    (lambda: decode_strings(np.zeros((3, 2, 5))), ValueError, "x must have D=7 along axis 2"),
])
def test_bad_arguments_are_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
