"""lstmlib.reference.gradcheck: the numerical gradient and the error measure themselves."""

import numpy as np
import pytest

from lstmlib.reference import (
    check_lstm_gradients,
    check_rnn_gradients,
    gradient_errors,
    init_lstm_params,
    init_rnn_params,
    max_relative_error,
    numerical_gradient,
)


def test_numerical_gradient_of_a_known_function():
    a = np.random.default_rng(0).standard_normal((3, 4))
    numeric = numerical_gradient(lambda: np.sum(a**3) + np.sum(np.sin(a)), a)
    np.testing.assert_allclose(numeric, 3 * a**2 + np.cos(a), rtol=1e-8, atol=1e-9)


def test_numerical_gradient_restores_the_array_exactly():
    a = np.random.default_rng(1).standard_normal(5)
    before = a.copy()
    seen = []
    numerical_gradient(lambda: seen.append(a.copy()) or float(np.sum(a)), a)
    assert np.array_equal(a, before)
    assert len(seen) == 2 * a.size  # two evaluations per entry, each with one entry nudged
    assert all(np.count_nonzero(s != before) == 1 for s in seen)


def test_numerical_gradient_of_a_scalar_array():
    a = np.array(2.0)
    assert numerical_gradient(lambda: float(a) ** 2, a) == pytest.approx(4.0, rel=1e-9)


def test_max_relative_error_values():
    a = np.array([1.0, -2.0, 3.0])
    assert max_relative_error(a, a) == 0.0
    assert max_relative_error(a, -a) == pytest.approx(2 * 3 / (3 + 3))
    assert max_relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert max_relative_error(np.zeros(2), np.array([0.0, 1e-300])) == 1.0
    # relative to the array's scale: a tiny entry's absolute noise is not blown up
    assert max_relative_error(np.array([1.0, 1e-12]), np.array([1.0, 2e-12])) < 1e-11


def test_gradient_errors_flags_a_wrong_gradient():
    a, b = np.array([1.0, 2.0]), np.array([[0.5, -1.0]])
    f = lambda: float(np.sum(a**2) + np.sum(a * b))  # noqa: E731
    right = {"a": 2 * a + b[0], "b": a[None]}
    wrong = {"a": 2 * a, "b": a[None]}  # forgot the a*b term
    assert max(gradient_errors(f, {"a": a, "b": b}, right).values()) < 1e-9
    errors = gradient_errors(f, {"a": a, "b": b}, wrong)
    assert errors["a"] > 0.1 and errors["b"] < 1e-9


def test_check_helpers_cover_every_array_and_accept_zero_state():
    params, x = init_lstm_params(2, 3, rng=0), np.random.default_rng(0).standard_normal((2, 2, 2))
    errors = check_lstm_gradients(params, x, None)
    assert set(errors) == {*params, "x", "h0", "c0"} and max(errors.values()) < 1e-6
    rnn_params = init_rnn_params(2, 3, rng=0)
    errors = check_rnn_gradients(rnn_params, x, None)
    assert set(errors) == {*rnn_params, "x", "h0"} and max(errors.values()) < 1e-6


CASES = {
    "f not callable": (lambda: numerical_gradient(1.0, np.ones(2)), TypeError, r"f must be a function"),
    "array a list": (lambda: numerical_gradient(lambda: 0.0, [1.0]), TypeError, r"array must be a NumPy array"),
    "array integer": (
        lambda: numerical_gradient(lambda: 0.0, np.ones(2, int)),
        TypeError,
        r"array must have a floating-point dtype",
    ),
    "eps zero": (
        lambda: numerical_gradient(lambda: 0.0, np.ones(2), eps=0),
        ValueError,
        r"eps must be a positive number; got 0",
    ),
    "eps a string": (
        lambda: numerical_gradient(lambda: 0.0, np.ones(2), eps="1e-6"),
        TypeError,
        r"eps must be a positive number; got str",
    ),
    "f returns an array": (
        lambda: numerical_gradient(lambda: np.ones(2), np.ones(2)),
        ValueError,
        r"f must return a single number",
    ),
    "shapes differ": (
        lambda: max_relative_error(np.ones(2), np.ones(3)),
        ValueError,
        r"analytic and numeric must have the same shape",
    ),
    "grads keys": (
        lambda: gradient_errors(lambda: 0.0, {"a": np.ones(1)}, {"b": np.ones(1)}),
        ValueError,
        r"grads must have exactly the keys \['a'\]",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_rejected(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()
