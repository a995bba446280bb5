"""The model of a check: an :class:`Exercise` (the learner's function, its reference, its inputs and the
realistic :class:`Mistake` s), what a check answers (:class:`CheckResult`), a finding that ends a trial
(:class:`CheckFinding`), and the trials themselves: visible ones fixed per exercise, hidden ones drawn from the
grading seed, plus the edge cases every run covers.
"""

from __future__ import annotations

import html
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Relative error below which a learner's array counts as equal to the reference (seed 002: "excellent").
DEFAULT_TOL = 1e-7

#: The course's one policy on numerical approximations, said in every message that rejects one.
APPROXIMATION_POLICY = ("An exercise that asks for an analytic gradient accepts only the exact formula, to "
                        "rounding: a finite-difference estimate (numerical_gradient, numerical_vjp, centred "
                        "differences) is for checking a gradient, never for computing the answer.")


@dataclass(frozen=True)
class Mistake:
    """A realistic wrong implementation, recognised by the answer it produces.

    ``wrong`` takes the same arguments as the reference and returns what a learner who made this mistake
    returns (the same structure as the reference). ``message`` tells the learner what to fix, in their terms.
    """

    name: str
    message: str
    wrong: Callable[..., Any]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Parameters
    ----------
    name: the learner's function name, e.g. ``"dense_backward"``; also the name of ``check.<name>``.
    reference: the correct implementation, same signature as the learner's function.
    make_inputs: ``(rng, hidden) -> tuple of arguments``; ``hidden=True`` draws random shapes for grading.
    outputs: names of the returned values, e.g. ``("dX", "dW", "db")``; one name for a single return value.
    mistakes: recognised wrong implementations, tried in order, most specific first.
    call: optional harness ``(fn, args) -> result`` for exercises that are not a plain ``fn(*args)``
        (stateful optimizers, graph nodes); it receives copies of the arguments.
    batch_size: ``args -> m`` used to name a missing or doubled 1/m; ``None`` when there is no batch.
    tol: relative error accepted per output.
    signature: how the learner calls the function, shown in messages, e.g. ``"dense_backward(dZ, cache)"``.
    shape_hint: what to tell a learner whose shapes do not fit (numpy's matmul or broadcast error, or a
        result of the wrong shape): the shapes of this exercise, e.g. ``"dX = dZ·Wᵀ is (m, n_in)"``.
    exact: the exercise asks for an analytic result (a gradient by the chain rule). Every entry must then
        agree with the reference to rounding, within a bound derived from the problem's conditioning
        (:func:`rounding_bounds`), not to ``tol``: a finite-difference answer (right to about 1e-10) is
        rejected and named (:data:`APPROXIMATION_POLICY`). ``tol`` still decides which mistakes match.
    edge_cases: ``rng -> arguments`` of inputs every run covers, visible and graded, after the exercise's own
        trials, so that a verdict never depends on whether the seed happened to draw them: a one-layer network,
        a resumed optimizer state, a probability at the clipping value, an input of every rank the docstring
        allows. Their values come from the trial's seed (the grading seed when hidden).
    parts: the learner's names for the entries of a tuple argument, e.g. ``{"cache": ("X", "W", "b")}``, used
        by the generic diagnosis (:mod:`backproplab.diagnosis`) to say "`b` is left out" in the learner's terms.
    judge: optional verdict ``(result, args) -> str`` for an exercise judged by a property of the result
        rather than by equality with the reference (a trained network's accuracy): it raises
        :class:`CheckFinding` when the result fails and returns what the pass message says otherwise. Like the
        comparison, it runs outside the kernel under the trusted grader.
    """

    name: str
    reference: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator, bool], tuple]
    outputs: tuple[str, ...] = ("result",)
    mistakes: tuple[Mistake, ...] = ()
    call: Callable[[Callable, tuple], Any] | None = None
    batch_size: Callable[[tuple], int] | None = None
    tol: float = DEFAULT_TOL
    signature: str = ""
    shape_hint: str = ""
    visible_trials: int = 3
    hidden_trials: int = 8
    exact: bool = False
    edge_cases: tuple[Callable[[np.random.Generator], tuple], ...] = ()
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    judge: Callable[[Any, tuple], str] | None = None

    def run(self, fn: Callable, args: tuple) -> Any:
        """Call ``fn`` on ``args`` the way this exercise does (through ``call`` when given)."""
        if self.call is not None:
            return self.call(fn, args)
        return fn(*args)


@dataclass
class CheckResult:
    """What a check found. Truthy when the learner's function passed.

    ``mistake`` is the name of the recognised :class:`Mistake` (or of a generic finding such as
    ``"sign"``, ``"transpose"``, ``"in_place"``), ``None`` when nothing was recognised or all passed.
    """

    exercise: str
    passed: bool
    message: str
    mistake: str | None = None
    rel_error: float | None = None

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return self.message

    def _repr_html_(self):
        colour, mark = ("#e6f4ea", "&#x2713;") if self.passed else ("#fdecea", "&#x2717;")
        body = html.escape(self.message).replace("\n", "<br>")
        return (f'<div style="background:{colour};padding:6px 10px;border-radius:4px;'
                f'font-family:var(--jp-content-font-family, sans-serif)">{mark} {body}</div>')


class CheckFinding(Exception):
    """Internal: a learner-facing finding that ends one trial. ``raised``: ``(type name, first line)`` of the
    error the learner's code raised, when that is the finding."""

    def __init__(self, message: str, mistake: str | None = None, rel_error: float | None = None,
                 raised: tuple[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.mistake = mistake
        self.rel_error = rel_error
        self.raised = raised


# ----------------------------------------------------------------------------------------------- seeds
def grading_seed() -> int:
    """Seed for hidden graded inputs, fixed per submission so that a re-grade gives the same grade.

    ``BACKPROPLAB_GRADING_SEED`` when the grader sets it, else a hash of the notebook's folder (under
    nbgrader that folder is ``autograded/<student>/<assignment>``).
    """
    env = os.environ.get("BACKPROPLAB_GRADING_SEED")
    if env is not None and env.strip().lstrip("-").isdigit():
        return int(env) & 0xFFFFFFFF
    return zlib.crc32(os.path.abspath(os.getcwd()).encode())


def visible_case(rng, name: str, n: int) -> int:
    """Index of the visible trial that drew ``rng`` (0, 1, 2, ...) modulo ``n``: visible trials are seeded
    ``crc32(name) + i`` (:func:`_trial_seeds`), so each visible case is fixed and all of them are shown."""
    return (int(rng.bit_generator.seed_seq.entropy) - zlib.crc32(name.encode())) % n


def visible_shape(rng, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """One of ``shapes`` for a visible trial, a different one for each of ``len(shapes)`` consecutive visible
    trials (their seeds are consecutive): code that hard-codes the printed shape fails a visible case."""
    return tuple(shapes[int(rng.bit_generator.seed_seq.entropy) % len(shapes)])


def _trial_seeds(exercise: Exercise, hidden: bool, seed: int | None) -> list[int]:
    base = zlib.crc32(exercise.name.encode())
    if not hidden:
        return [base + i for i in range(exercise.visible_trials + len(exercise.edge_cases))]
    s = grading_seed() if seed is None else seed
    n = exercise.hidden_trials + len(exercise.edge_cases)
    return [(s * 1_000_003 + base + 7919 * i) & 0xFFFFFFFF for i in range(n)]


def _to_rank(a: np.ndarray, rank: int) -> np.ndarray:
    """The entries of ``a`` (special values included) and the same entries reversed, as an array of ``rank``
    axes: rank 1 ``(2k,)``, rank 2 ``(2, k)``, rank 3 ``(2, 1, k)``, rank 4 ``(1, 2, 1, k)``."""
    flat = np.ravel(a)
    both = np.concatenate([flat, flat[::-1]])
    shape = {1: (-1,), 2: (2, -1), 3: (2, 1, -1), 4: (1, 2, 1, -1)}[rank]
    return both.reshape(shape)


def of_ranks(make_inputs: Callable[[np.random.Generator, bool], tuple], *ranks: int):
    """Edge cases for an element-wise exercise whose docstring allows any shape: a hidden draw of
    ``make_inputs`` with every array argument rearranged to each of ``ranks`` (:func:`_to_rank`), so that code
    written for one rank (a double loop, ``z[i, j]``, ``axis=1``) fails every graded run."""
    def edge(rank):
        def make(rng):
            return tuple(_to_rank(a, rank) if isinstance(a, np.ndarray) else a for a in make_inputs(rng, True))
        return make
    return tuple(edge(r) for r in ranks)


def another_shape(make_inputs: Callable[[np.random.Generator, bool], tuple]):
    """An edge case drawn as a hidden trial is (random shapes from the case's own seed): the learner's check
    then also shows a shape besides the printed ones, so code that hard-codes a printed shape fails there,
    not only in grading."""
    def make(rng):
        return make_inputs(np.random.default_rng(int(rng.integers(2**63))), True)  # not the visible trials' draw
    return make


def trial_inputs(exercise: Exercise, hidden: bool, seed: int | None) -> list[tuple]:
    """The arguments of every trial of a check (visible, or hidden drawn from ``seed``/:func:`grading_seed`):
    the exercise's own trials, then one per edge case (visible and hidden alike, so that an answer the graded
    check rejects is never told "all cases match" by the learner's check)."""
    seeds = _trial_seeds(exercise, hidden, seed)
    n = len(seeds) - len(exercise.edge_cases)
    trials = [exercise.make_inputs(np.random.default_rng(s), hidden) for s in seeds[:n]]
    trials += [edge(np.random.default_rng(s)) for edge, s in zip(exercise.edge_cases, seeds[n:], strict=True)]
    return trials


