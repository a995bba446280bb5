"""Initializers: shapes, dtype, the standard deviations of seeds 002-004 (std, not variance), rng handling."""

import numpy as np
import pytest

from backproplab import initializers as init
from backproplab.errors import BackpropLabError

ALL = [init.he_normal, init.xavier_normal, init.xavier_uniform, init.lecun_normal]


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 7), (7, 3), (1, 10)])
def test_shape_and_dtype(fn, n_in, n_out):
    W = fn(n_in, n_out, rng=0)
    assert W.shape == (n_in, n_out) and W.dtype == np.float64


@pytest.mark.parametrize(
    "fn, std",
    [
        (init.he_normal, lambda n_in, n_out: np.sqrt(2 / n_in)),
        (init.xavier_normal, lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
        (init.xavier_uniform, lambda n_in, n_out: np.sqrt(6 / (n_in + n_out)) / np.sqrt(3)),
        (init.lecun_normal, lambda n_in, n_out: np.sqrt(1 / n_in)),
    ],
)
def test_standard_deviation(fn, std):
    n_in, n_out = 300, 700  # non-square: n_in and n_out must not be swapped
    W = fn(n_in, n_out, rng=1)
    assert W.std() == pytest.approx(std(n_in, n_out), rel=0.01)
    assert abs(W.mean()) < 0.05 * std(n_in, n_out)
    # the second argument of seed 002/004's N(0, sqrt(.)) is a standard deviation: the variance is its square
    assert W.var() == pytest.approx(std(n_in, n_out) ** 2, rel=0.02)


def test_xavier_uniform_bounds():
    W = init.xavier_uniform(50, 30, rng=2)
    limit = np.sqrt(6 / 80)
    assert np.all(np.abs(W) <= limit) and np.abs(W).max() > 0.95 * limit


def test_same_as_numpy_with_the_same_generator():
    np.testing.assert_array_equal(init.he_normal(4, 3, rng=5),
                                  np.random.default_rng(5).normal(0.0, np.sqrt(2 / 4), size=(4, 3)))


@pytest.mark.parametrize("fn", ALL)
def test_rng_handling(fn):
    np.testing.assert_array_equal(fn(4, 5, rng=3), fn(4, 5, rng=3))
    np.testing.assert_array_equal(fn(4, 5, rng=3), fn(4, 5, rng=np.random.default_rng(3)))
    gen = np.random.default_rng(3)
    assert not np.array_equal(fn(4, 5, rng=gen), fn(4, 5, rng=gen))  # the Generator advances
    assert fn(4, 5).shape == (4, 5)  # rng=None
    assert not np.array_equal(fn(4, 5, rng=3), fn(4, 5, rng=4))


@pytest.mark.parametrize("fn", ALL)
def test_bad_inputs(fn):
    for args, match in [
        ((0, 3), "n_in must be a positive int"),
        ((3, -1), "n_out must be a positive int"),
        ((2.5, 3), "n_in"),
        (("3", 3), "n_in"),
        ((3, 3, "seed"), "rng must be None, an int seed or a numpy.random.Generator"),
        ((3, 3, -1), "non-negative"),
    ]:
        with pytest.raises(BackpropLabError, match=match) as info:
            fn(*args)
        assert "\n" not in str(info.value)


def test_docstrings_say_standard_deviation():
    for fn in (init.he_normal, init.xavier_normal, init.lecun_normal):
        assert "standard deviation" in fn.__doc__
    assert "not the variance" in init.__doc__


def test_get_initializer():
    assert init.get_initializer("he") is init.he_normal
    assert init.get_initializer("xavier") is init.xavier_normal
    assert init.get_initializer("xavier_uniform") is init.xavier_uniform
    fn = lambda n_in, n_out, rng: np.zeros((n_in, n_out))  # noqa: E731
    assert init.get_initializer(fn) is fn
    with pytest.raises(BackpropLabError, match="unknown initializer"):
        init.get_initializer(["he"])
