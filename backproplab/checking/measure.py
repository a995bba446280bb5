"""The checks' own measure of how far an answer is from the expected value.

``relative_gap(a, b) = ||a - b|| / max(||a||, ||b||)`` (Euclidean/Frobenius norms; 0 when both are zero, inf
for arrays of different shapes). It is not notebook 03's exercise ``relative_error`` (``||a - b|| / (||a|| +
||b||)``, :func:`backproplab.gradcheck.relative_error`): it lies between that and twice that, so the checks'
tolerances mean what they meant, and a learner build, which holds no implementation of any exercise, can hold
this one (its checks measure every answer with it).
"""

from __future__ import annotations

import numpy as np


def relative_gap(a, b) -> float:
    """``||a - b|| / max(||a||, ||b||)``, 0 when both are zero, inf when the shapes differ."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b)) / scale
