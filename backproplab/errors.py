"""Input validation with one-line error messages.

Every reference function converts its inputs with :func:`as_array`, so a learner who passes a string,
``None``, a transposed weight matrix or a vector where a matrix is expected gets one short sentence that
names the argument, the expected shape and what was received, instead of a numpy traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BackpropLabError", "as_array", "check_matmul", "check_same_shape", "shape_str"]


class BackpropLabError(ValueError):
    """Raised for invalid input to a Backprop Lab function; the message is always one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def shape_str(shape: Sequence[int | None], labels: Sequence[str] | None = None) -> str:
    """Render a shape as ``(3, 4)``; ``None`` entries print as their label (or ``any``).

    ``shape_str((3,))`` gives ``(3,)`` like Python's tuple repr.
    """
    parts = []
    for i, size in enumerate(shape):
        if size is None:
            parts.append(labels[i] if labels is not None and i < len(labels) else "any")
        else:
            parts.append(str(size))
    if len(parts) == 1:
        return f"({parts[0]},)"
    return "(" + ", ".join(parts) + ")"


def _type_name(x) -> str:
    return "None" if x is None else type(x).__name__


_FLOAT64 = np.dtype(np.float64)


def _to_float64(x, name: str) -> np.ndarray:
    """``x`` as a float64 ndarray, or a :class:`BackpropLabError` naming what it is instead."""
    if x is None or isinstance(x, str | bytes | dict | set):
        raise BackpropLabError(f"{name} must be a numpy array of numbers, got {_type_name(x)}")
    try:
        raw = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise BackpropLabError(
            f"{name} must be a numpy array of numbers, got a {_type_name(x)} that numpy cannot turn into "
            f"a rectangular array (rows of different lengths?)"
        ) from exc
    kind = raw.dtype.kind
    if kind == "c":
        raise BackpropLabError(f"{name} must hold real numbers, got complex values")
    if kind in "US":
        raise BackpropLabError(f"{name} must be a numpy array of numbers, got an array of strings")
    if kind in "VMm":
        raise BackpropLabError(f"{name} must be a numpy array of numbers, got an array of {raw.dtype}")
    if kind == "O":
        bad = [v for v in raw.flat if v is None or isinstance(v, str | bytes)]
        if bad:
            raise BackpropLabError(
                f"{name} must be a numpy array of numbers, got a {_type_name(x)} "
                f"containing {_type_name(bad[0])}"
            )
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise BackpropLabError(
            f"{name} must be a numpy array of numbers, got a {_type_name(x)} of {raw.dtype}"
        ) from exc
    return arr


def as_array(x, name: str, ndim: int | None = None, shape=None, *, labels=None) -> np.ndarray:
    """Convert ``x`` to a float64 ndarray, checking its number of dimensions and shape.

    Parameters
    ----------
    x : array_like
        Numbers: an ndarray of any real dtype (int, bool, float32 are promoted), a Python number or a
        (nested) list of numbers. Strings, ``None``, complex numbers and ragged lists are rejected.
    name : str
        The argument's name, used in the message (``"W"``, ``"dZ"``).
    ndim : int, optional
        Required number of dimensions.
    shape : tuple of (int or None), optional
        Required shape; ``None`` entries accept any size. Implies ``ndim=len(shape)``.
    labels : tuple of str, optional (keyword only)
        Names of the dimensions, e.g. ``("n_in", "n_out")``, shown in messages.

    Returns
    -------
    ndarray of float64 (not copied when ``x`` already is one).

    Raises
    ------
    BackpropLabError
        With a single line such as ``W must have shape (3, 4) (n_in, n_out), got (4, 3)``.
    """
    # The common case (a float64 ndarray, e.g. inside a training loop) skips the conversion checks.
    arr = x if type(x) is np.ndarray and x.dtype == _FLOAT64 else _to_float64(x, name)

    if shape is not None:
        shape = tuple(shape)
        ndim = len(shape)
    if ndim is not None and arr.ndim != ndim:
        what = f" ({', '.join(labels)})" if labels is not None else ""
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = "; reshape a vector with .reshape(1, -1) (one row) or .reshape(-1, 1) (one column)"
        if shape is not None:
            raise BackpropLabError(
                f"{name} must have shape {shape_str(shape, labels)}{what}, got {shape_str(arr.shape)}{hint}"
            )
        raise BackpropLabError(
            f"{name} must be a {ndim}-D array{what}, got {arr.ndim}-D with shape {shape_str(arr.shape)}{hint}"
        )
    if shape is not None:
        if any(want is not None and want != got for want, got in zip(shape, arr.shape, strict=True)):
            what = f" ({', '.join(labels)})" if labels is not None else ""
            hint = ""
            if arr.ndim == 2 and all(
                want is None or want == got for want, got in zip(shape, arr.shape[::-1], strict=True)
            ):
                hint = " (the transpose: the course uses the row convention Z = X @ W + b)"
            raise BackpropLabError(
                f"{name} must have shape {shape_str(shape, labels)}{what}, got {shape_str(arr.shape)}{hint}"
            )
    return arr


def check_matmul(a, b, a_name: str = "A", b_name: str = "B") -> tuple[int, int]:
    """Check that ``a @ b`` is defined for 2-D ``a`` (p, q) and ``b`` (q, r); return ``(p, r)``.

    ``a`` and ``b`` may be arrays or shapes. The message names both operands, e.g.
    ``cannot compute X @ W: X has shape (5, 3), so W needs 3 rows, but W has shape (4, 2)``.
    """
    sa = tuple(a.shape) if hasattr(a, "shape") else tuple(a)
    sb = tuple(b.shape) if hasattr(b, "shape") else tuple(b)
    for s, n in ((sa, a_name), (sb, b_name)):
        if len(s) != 2:
            raise BackpropLabError(
                f"cannot compute {a_name} @ {b_name}: {n} must be 2-D, got shape {shape_str(s)}"
            )
    if sa[1] != sb[0]:
        hint = f" ({b_name}.T would fit: is {b_name} transposed?)" if sb[1] == sa[1] else ""
        raise BackpropLabError(
            f"cannot compute {a_name} @ {b_name}: {a_name} has shape {shape_str(sa)}, so {b_name} needs "
            f"{sa[1]} rows, but {b_name} has shape {shape_str(sb)}{hint}"
        )
    return sa[0], sb[1]


def check_same_shape(a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> None:
    """Raise unless ``a.shape == b.shape`` (no broadcasting: ``(m,)`` against ``(m, 1)`` is an error).

    Message: ``Y must have the same shape as Y_hat (5, 2), got (5,)`` (``b`` is measured against ``a``).
    """
    if a.shape != b.shape:
        raise BackpropLabError(
            f"{b_name} must have the same shape as {a_name} {shape_str(a.shape)}, got {shape_str(b.shape)}"
        )
