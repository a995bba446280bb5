"""The data set notebook 08 trains on: the UCI handwritten digits, shipped with the package (no download).

``backproplab/data/digits.npz`` holds the 1,797 images of the test set of Alpaydin and Kaynak's *Optical
Recognition of Handwritten Digits* (UCI Machine Learning Repository, 1998; CC BY 4.0): 8×8 pixels of integers
0–16, digits 0–9. Source and licence: ``backproplab/data/README.md``.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

__all__ = ["DIGITS_FILE", "Digits", "load_digits", "one_hot"]

DIGITS_FILE = "data/digits.npz"
#: The split of the 1,797 images: 1,077 for training, 360 for validation, 360 for testing.
N_VALIDATION = N_TEST = 360
SPLIT_SEED = 0


class Digits(NamedTuple):
    """The three splits. ``X_*`` are float64 ``(m, 64)`` in [0, 1] (pixel / 16, row by row), ``y_*`` are int
    labels ``(m,)`` in 0..9; ``Y_*`` one-hot ``(m, 10)``. ``images_*`` are the same pixels as ``(m, 8, 8)``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def Y_train(self) -> np.ndarray:
        return one_hot(self.y_train)

    @property
    def Y_val(self) -> np.ndarray:
        return one_hot(self.y_val)

    @property
    def Y_test(self) -> np.ndarray:
        return one_hot(self.y_test)

    @property
    def images_train(self) -> np.ndarray:
        return self.X_train.reshape(-1, 8, 8)

    @property
    def images_val(self) -> np.ndarray:
        return self.X_val.reshape(-1, 8, 8)


def one_hot(y, k: int = 10) -> np.ndarray:
    """Integer labels ``(m,)`` -> one-hot float64 rows ``(m, k)``."""
    y = np.asarray(y, dtype=np.int64).ravel()
    Y = np.zeros((y.size, k))
    Y[np.arange(y.size), y] = 1.0
    return Y


def load_digits(seed: int = SPLIT_SEED) -> Digits:
    """The digits, shuffled with ``np.random.default_rng(seed)`` and split into 1,077 training, 360 validation
    and 360 test images (the same split for the same seed, on every machine).

    Returns a :class:`Digits`: ``X_train`` ``(1077, 64)``, ``y_train`` ``(1077,)``, ``X_val`` ``(360, 64)``,
    ``y_val`` ``(360,)``, ``X_test`` ``(360, 64)``, ``y_test`` ``(360,)``; pixels scaled to [0, 1].
    """
    with resources.files("backproplab").joinpath(DIGITS_FILE).open("rb") as fh, np.load(fh) as archive:
        images, labels = archive["images"], archive["labels"]
    X = images.reshape(len(images), 64).astype(np.float64) / 16.0
    y = labels.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, val, train = np.split(order, [N_TEST, N_TEST + N_VALIDATION])
    return Digits(X[train], y[train], X[val], y[val], X[test], y[test])
