"""Findings every exercise shares, in the learner's terms: a wrong shape (a transpose, a lost ``keepdims``, a sum
over the wrong axis), a factor (a sign, 2, ½, m, 1/m), an approximation, float32, outputs in the wrong order,
an exception raised by the learner's code (its line, and a hint for ``^`` or a shape error), and, when nothing
is recognised, the error's pattern.
"""

from __future__ import annotations

import os
import traceback

import numpy as np

from backproplab.checking.measure import relative_gap
from backproplab.checking.model import APPROXIMATION_POLICY, CheckFinding, Exercise
from backproplab.checking.values import _close, _fmt_shape
from backproplab.gradcheck import verdict

#: The package (``backproplab/``) and numpy: frames there are not the learner's code.
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


def _shape_finding(name: str, got: np.ndarray, exp: np.ndarray, hint: str = "") -> CheckFinding:
    gs, es = _fmt_shape(got.shape), _fmt_shape(exp.shape)
    head = f"`{name}` has shape {gs} but should have shape {es}."
    if got.size == 1 and exp.size == 1 and got.ndim < exp.ndim:
        return CheckFinding(f"{head} Return an array of that shape, not a bare number: keep the axes of the sum "
                       f"(`keepdims=True`) rather than calling `float(...)` or `.item()`.", "shape")
    if got.size == 1 and exp.size == 1:
        return CheckFinding(f"{head} Return the number itself (a float, e.g. `float(...)`), not an array holding "
                       f"it.", "shape")
    if got.ndim == 2 and got.shape == exp.shape[::-1]:
        if np.allclose(got.T, exp, rtol=1e-6, atol=1e-12):
            return CheckFinding(f"{head} Its values are the transpose of the right answer: a transpose is missing "
                           f"or misplaced. {hint}".rstrip(), "transpose")
        return CheckFinding(f"{head} The axes are swapped: check the order of the dimensions (a transpose, or the "
                       f"order of the arguments). {hint}".rstrip(), "transpose")
    if exp.ndim == 2 and exp.shape[0] == 1 and got.shape == exp.shape[1:]:
        return CheckFinding(f"{head} Keep the row dimension: use `keepdims=True` in the sum "
                        f"(b and db are (1, n_out) row vectors).", "keepdims")
    if exp.ndim == 2 and got.ndim == 2 and got.shape[1] == 1 and exp.shape[0] == 1:
        return CheckFinding(f"{head} You summed over the wrong axis: sum over the batch, `axis=0`.", "bias_axis")
    if exp.ndim == 2 and got.ndim == 1 and got.shape[0] == exp.shape[0]:
        return CheckFinding(f"{head} You summed over the wrong axis or dropped a dimension.", "bias_axis")
    if exp.ndim == 2 and 1 in exp.shape and got.ndim <= 2 and got.size != exp.size:
        axis = 0 if exp.shape[0] == 1 else 1
        return CheckFinding(f"{head} A bias gradient sums over the examples: here that is axis={axis}, with "
                       f"keepdims=True, so that it keeps the shape of the bias {es}.", "bias_axis")
    if got.size == 1 and exp.size > 1:
        return CheckFinding(f"{head} You returned a single number where an array is expected: "
                        f"did you sum or average too early?", "reduced")
    if exp.size == 1 and got.size > 1:
        return CheckFinding(f"{head} Reduce to a single number: average over the batch (and sum over outputs).",
                        "not_reduced")
    if hint:
        return CheckFinding(f"{head} {hint}", "shape")
    return CheckFinding(f"{head} Check the shapes along the way, and which axis each sum or product runs over.",
                   "shape")


_FACTORS = (
    (-1.0, "sign", "It is the right answer with the opposite sign: a sign error (a difference written the "
                   "wrong way round, e.g. y − ŷ for ŷ − y, or a missing minus)."),
    (2.0, "extra_factor_2", "It is exactly 2× the right answer: an extra factor 2."),
    (0.5, "dropped_factor_2", "It is exactly half the right answer: a factor 2 is missing."),
)
#: Said after "a factor 2 is missing" only where the answer is a derivative (``Exercise.exact``).
_SQUARE_HINT = " (such as the 2 of d/dx x² = 2x)"


def factor_fits(key: str, got: np.ndarray, exp: np.ndarray, m: int | None, dims: set[int] = frozenset()) -> bool:
    """``got`` is the factor that the finding ``key`` names (a sign, 2, ½, m, 1/m, m/k) times ``exp``, whether
    or not another factor's name would come first on these values (½ is also 1/m when m = 2)."""
    dot = float(np.vdot(exp, exp))
    if got.shape != exp.shape or dot == 0 or not np.all(np.isfinite(got)):
        return False
    c = float(np.vdot(got, exp)) / dot
    if relative_gap(got, c * exp) >= 1e-9:
        return False
    wanted = {"sign": [-1.0], "extra_factor_2": [2.0], "dropped_factor_2": [0.5],
              "missing_1_over_m": [m] if m else [], "double_1_over_m": [1.0 / m] if m else [],
              "wrong_m": [m / k for k in dims - {m, 1}] if m else []}.get(key, [])
    return any(abs(c - f) < 1e-9 * max(1.0, abs(f)) for f in wanted)


def _value_finding(name: str, got: np.ndarray, exp: np.ndarray, m: int | None, tol: float,
                   dims: set[int] = frozenset(), exact: bool = False) -> CheckFinding:
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(exp)):
        bad = int(np.size(got) - np.count_nonzero(np.isfinite(got)))
        return CheckFinding(f"`{name}` contains {bad} NaN or infinite value(s) where the answer is finite: "
                        f"an overflow (np.exp of a large input?), a division by zero, or the log or square root "
                        f"of a negative number.",
                        "overflow", float("nan"))
    err = relative_gap(got, exp)
    dot = float(np.vdot(exp, exp))
    if dot > 0:
        c = float(np.vdot(got, exp)) / dot
        if relative_gap(got, c * exp) < 1e-9 and abs(c - 1.0) > 1e-6:
            if m is not None and m > 1 and abs(c - m) < 1e-9 * m:
                return CheckFinding(f"`{name}` is exactly m = {m} times the right answer: the 1/m of the mean is "
                                f"missing.", "missing_1_over_m", err)
            if m is not None and m > 1 and abs(c - 1.0 / m) < 1e-9:
                return CheckFinding(f"`{name}` is exactly 1/m = 1/{m} of the right answer: the 1/m is applied twice "
                                f"(it belongs once on the backward path, in the loss gradient).",
                                "double_1_over_m", err)
            for factor, key, text in _FACTORS:
                if abs(c - factor) < 1e-9:
                    if key == "dropped_factor_2" and exact:
                        text = text[:-1] + _SQUARE_HINT + "."
                    return CheckFinding(f"`{name}` is wrong. {text}", key, err)
            for k in sorted(dims - {m, 1}) if m is not None and m > 1 else ():
                if abs(c - m / k) < 1e-9 * max(1.0, m / k):
                    return CheckFinding(f"`{name}` is the right answer times m/{k}: you divided by {k} where the mean "
                                   f"needs m = {m}, the number of examples (the first axis, e.g. X.shape[0]).",
                                   "wrong_m", err)
            if abs(c) > 1e-12 and exp.size > 1:  # any two single numbers are proportional: no finding
                return CheckFinding(f"`{name}` is the right answer times {c:.4g}: a constant factor is off.",
                                "scale", err)
    if err < 1e-5 and exact:
        return CheckFinding(f"`{name}` is close to the answer but not exact: relative error {err:.1e}, the accuracy of "
                       f"a numerical approximation such as a finite difference. {APPROXIMATION_POLICY} If you did "
                       f"not approximate, look for a small term in the wrong place (an ε outside its "
                       f"parentheses).", "approximate", err)
    if err < 1e-5:
        return CheckFinding(f"`{name}` is close to the answer but not exact: relative error {err:.1e}. That is the "
                       f"accuracy of an approximation (a finite difference, a clipped or rounded value); "
                       f"this exercise asks for the exact formula. If you did not approximate, look for a small "
                       f"term in the wrong place (an ε outside its parentheses, an operator-precedence slip).",
                       "approximate", err)
    if got.size == 1:
        return CheckFinding(f"`{name}` is {float(got.ravel()[0]):.6g}; the right answer is "
                            f"{float(exp.ravel()[0]):.6g}.", None, err)
    diff = np.abs(got - exp)
    wrong = diff > tol * (np.abs(exp) + np.abs(got)) + 1e-300
    n_wrong = int(np.count_nonzero(wrong))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    idx = ", ".join(str(int(i)) for i in where)
    at = f"[{idx}]" if idx else ""
    size = (f"Relative error {err:.2e} ({verdict(err)})." if np.isfinite(err) else
            "The values are too large to compare: look for a missing normalisation or an overflow.")
    return CheckFinding(f"`{name}` differs from the reference in {n_wrong} of {got.size} entries; the largest "
                   f"difference is at {name}{at}: got {float(got[where]):.6g}, expected {float(exp[where]):.6g}. "
                   f"{size}", None, err)


def _precision_finding(gots, arrays, exps, names, tol) -> None:
    """Raise when a wrong output was computed in float32 or float16 and is right to that precision."""
    for got, g, e, name in zip(gots, arrays, exps, names, strict=True):
        dtype = getattr(got, "dtype", None)
        if dtype in (np.float32, np.float16) and g.shape == e.shape and not _close(g, e, tol) \
                and _close(g, e, float(np.finfo(dtype).eps) * 8):
            raise CheckFinding(f"`{name}` is {dtype} and right only to {dtype} precision. The course works in "
                          f"float64 (numpy's default): drop the `dtype=np.{dtype}` or `.astype(np.{dtype})`.",
                          "low_precision")


def _order_finding(arrays, exps, names, tol) -> None:
    """Raise when every output is right but they come in another order (e.g. ``(dy, dx)`` for ``(dx, dy)``)."""
    n = len(arrays)
    if n < 2:
        return
    fits = [[j for j in range(n) if _close(arrays[i], exps[j], tol)] for i in range(n)]

    def assign(i, used):
        if i == n:
            return []
        for j in fits[i]:
            if j not in used:
                rest = assign(i + 1, used | {j})
                if rest is not None:
                    return [j, *rest]
        return None

    order = assign(0, frozenset())
    if order is not None and order != list(range(n)):
        i = next(k for k in range(n) if order[k] != k)
        raise CheckFinding(f"`{names[i]}` holds the value of `{names[order[i]]}`: the outputs are right but "
                           f"returned in the wrong order. Return them as ({', '.join(names)}).", "output_order")


def _learner_frame(exc: BaseException) -> str:
    """``' (line 4: `dW = X @ dZ`)'`` for the deepest frame of the learner's own code, or ``''``."""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        path = os.path.abspath(fr.filename)
        if (path.startswith(_PKG_DIR) or path.startswith(_NUMPY_DIR) or "site-packages" in path
                or fr.filename.endswith((".pyx", ".pxd")) or fr.filename.startswith("numpy")):
            continue
        code = (fr.line or "").strip()
        return f" (line {fr.lineno}: `{code}`)" if code else f" (line {fr.lineno})"
    return ""


def _exception_finding(exercise: Exercise, exc: BaseException) -> CheckFinding:
    if isinstance(exc, NotImplementedError):
        return CheckFinding(f"`{exercise.name}` is not written yet: replace `raise NotImplementedError()` with your "
                        f"code.", "not_implemented")
    text = str(exc).splitlines()[0] if str(exc) else ""
    where = _learner_frame(exc)
    hint = ""
    if isinstance(exc, TypeError) and ("bitwise_xor" in text or "for ^:" in text):
        hint = " In Python `^` is the bitwise XOR: a power is written `**`, e.g. `t**2`."
    if isinstance(exc, ValueError) and ("matmul" in text or "aligned" in text or "broadcast" in text):
        hint = " Shapes do not fit: " + (exercise.shape_hint or "write the shape of every operand next to the "
                                                                "formula.")
    return CheckFinding(f"`{exercise.name}` raised {type(exc).__name__}: {text}{where}.{hint}", "exception",
                        raised=error_signature(exc))


def error_signature(exc: BaseException) -> tuple[str, str]:
    """``(type name, first line of the text)``: two errors with the same signature are the same error (numpy's
    shape errors name the sizes that do not fit)."""
    return type(exc).__name__, (str(exc).splitlines() or [""])[0]


