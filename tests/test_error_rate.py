"""lstmlib.metrics: edit distance and error rates, on cases worked out by hand."""

from __future__ import annotations

import pytest

from lstmlib.metrics import edit_distance, error_rate


@pytest.mark.parametrize("reference, hypothesis, distance", [
    ("407", "407", 0),
    ("407", "47", 1),  # one deletion
    ("407", "4007", 1),  # one insertion
    ("407", "417", 1),  # one substitution
    ("407", "", 3),
    ("", "12", 2),
    ("kitten", "sitting", 3),  # k->s, e->i, +g
    ("1234", "2341", 2),  # drop the 1 in front, add it at the end
    ([5, 1, 8], [5, 8], 1),  # lists of label ids work too
])
def test_edit_distance_on_hand_worked_cases(reference, hypothesis, distance):
    assert edit_distance(reference, hypothesis) == distance
    assert edit_distance(hypothesis, reference) == distance  # symmetric


def test_error_rate_pools_the_edits_over_the_total_reference_length():
    # 0 edits over 3 digits, 1 over 2, 2 over 5: 3 edits for 10 reference digits
    assert error_rate(["407", "12", "55555"], ["407", "123", "555"]) == pytest.approx(0.3)
    assert error_rate(["1"], ["2345"]) == pytest.approx(4.0)  # insertions can push it above 1


@pytest.mark.parametrize("references, hypotheses, error, match", [
    ("407", ["407"], TypeError, r"references and hypotheses must be lists of sequences; got str and list"),
    (["407", "1"], ["407"], ValueError, r"hypotheses must have one entry per reference \(2\); got 1"),
    ([""], ["1"], ValueError, r"references must hold at least one item in all"),
])
def test_error_rate_rejects_bad_arguments(references, hypotheses, error, match):
    with pytest.raises(error, match=match):
        error_rate(references, hypotheses)


def test_edit_distance_rejects_what_is_not_a_sequence():
    with pytest.raises(TypeError, match=r"hypothesis must be a str, list or tuple; got int"):
        edit_distance("407", 407)
