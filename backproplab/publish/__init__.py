"""``backproplab publish OUT``: the repository an instructor gives the learners of a graded class.

OUT holds the learner notebooks (``course/``), the Binder files (``binder/``), a learner README, the
JupyterLab set-up script and the package, and nothing else: no ``solutions/``, no hidden tests, no
gradebook, no grader. In the package, no graded function has its implementation: each answers from tables
computed now, on the inputs of the visible checks (:mod:`.record`, :mod:`.transform`), so the visible checks
still pass a right answer and name a known mistake. The grader keeps the full package on the instructor's
side; a notebook written in the build is graded by ``backproplab grade`` as any other.

The figures are tabulated on what they draw, and every explorer on every slider position a learner can reach
(:mod:`.explorers`: the notebooks as released are run, and each explorer is moved through its positions while
the graded calls are recorded). Notebook 07's training figure, which trains a network with the learner's own
optimizers, is answered by near tables (:data:`.record.NEAR`: an input within 1e-9 of a recorded one gets its
result; the learner's correct optimizers stay within 2.3e-11 of the course's path). Not tabulated (they raise
``NotPublished`` in the build): a figure cell whose tables would exceed its budget
(:data:`.record.CELL_BUDGET`, listed in the build's ``_published_skipped.txt``: none today), and a graded
function called by the learner on other inputs (in a figure off the course's path, one line says how far).

Notebook 08 runs on the learner's own parts in the build (:mod:`backproplab.parts`: a missing or wrong part
says so, as there is no course's part to fall back on), its training cells run the learner's code only and are
not run while publishing (:data:`.record.LEARNER_CODE_CELLS`), its checks answer from tables like the others
(the course's network near at rounding distance, :data:`.record.NEAR`; the course's ``numerical_gradients`` by
the values of the function it is given, :data:`.record.MATCHED_BY_VALUES`), and its debugging module holds the
planted passes without the correct one (:mod:`.planted`).
"""

from __future__ import annotations

import copyreg
import pickle
import shutil
import types
from pathlib import Path

from . import planted
from .record import UNPUBLISHED, run_notebooks, tabulate, targets, unpublished
from .runtime import TABLE_FILE
from .transform import transform_module

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "backproplab"

README = """# Backprop Lab

An interactive course on the mathematics of backpropagation: eight Jupyter notebooks with derivations,
plots, sliders to explore and exercises with immediate feedback. This copy is your class's: your
instructor grades the notebooks you hand in.

## Start

- **In the browser**: open this repository on Binder (your instructor gives you the link), or
- **on your machine** (Python 3.11 or newer):

  ```bash
  python -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m scripts.learner_setup --prefix .venv
  .venv/bin/jupyter lab course/01_chain_rule/01_chain_rule.ipynb
  ```

Work through `course/01_chain_rule` to `course/08_training` in order. Each exercise asks for one function;
run the cell under it (`check.<exercise>(...)`) for immediate feedback. The **Validate** button runs every
check of the notebook. Hand in the notebook as your instructor asks.

The package in this repository checks your answers but does not contain them: the checks compare your
function with results computed in advance.

Notebook 08 trains a network made of your own parts from notebooks 02 to 07, read from your saved
notebooks beside it: section 2 lists them. A part that is missing or does not pass its check yet is named
there, with its notebook; fix it there, save, and run section 2 again.
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "backproplab"
version = "{version}"
description = "Backprop Lab (learner build of a graded class)"
readme = "README.md"
requires-python = ">=3.11"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = ["backproplab*"]

[tool.setuptools.package-data]
backproplab = ["{tables}"]
"""

POSTBUILD = """#!/usr/bin/env bash
# Binder (repo2docker) runs this from the repository root after creating binder/environment.yml's env.
set -euo pipefail
python -m pip install --no-deps -e .
python -m scripts.learner_setup --prefix "${NB_PYTHON_PREFIX:-$(python -c 'import sys; print(sys.prefix)')}"
"""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _learner_dependencies() -> list[str]:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return list(deps)  # nbgrader included: the learner's Validate button


def _solution_answers(notebooks: list[Path]) -> dict[str, dict[str, str]]:
    """The solution of every answer cell, without nbgrader's markers, by notebook path (from solutions/)."""
    import nbformat

    found = {}
    for path in notebooks:
        source = ROOT / "solutions" / path.parent.name / path.name
        if not source.is_file():
            continue
        nb = nbformat.read(source, as_version=4)
        found[str(path)] = {c.metadata["nbgrader"]["grade_id"]: strip_markers(c.source) for c in nb.cells
                            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    return found


def strip_markers(source: str) -> str:
    return "\n".join(ln for ln in source.splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _plain_pickler(fh) -> pickle.Pickler:
    """A pickler that writes exceptions the standard way, whatever a library registered for them (Dask's tblib
    registers reducers for every exception class in the process; the build would then need tblib to load)."""
    pickler = pickle.Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {cls: reduce for cls, reduce in copyreg.dispatch_table.items()
                              if not (isinstance(cls, type) and issubclass(cls, BaseException))
                              and cls is not types.TracebackType}
    return pickler


def publish(out: Path, *, course: Path | None = None) -> dict[str, int]:
    """Write the learner build into ``out`` (which must not exist or be empty). Returns {file: bytes}."""
    import tomllib

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: publish writes a new folder")
    course = Path(course) if course else ROOT / "course"
    notebooks = sorted(p for p in course.glob("*/*.ipynb") if p.parent.name not in UNPUBLISHED)
    if not notebooks:
        raise ValueError(f"no notebooks in {course} (run `make release` first)")
    found = targets()
    skipped: list[str] = []
    answers = _solution_answers(notebooks)

    def figures(t):  # as a learner first sees them (the figures fall back on the reference), then answered
        run_notebooks(notebooks, None, t, skipped)
        run_notebooks(notebooks, answers, t, skipped)

    tables = tabulate(figures)
    out.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        dest = out / "course" / nb.relative_to(course)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, dest)
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        module = _module_name(path) if path.suffix == ".py" else _module_name(path.parent / "__init__.py")
        if unpublished(module):
            continue
        dest = out / path.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            if module == planted.MODULE:  # the planted variants without the correct backward pass
                text = planted.build_source(text)
            dest.write_text(transform_module(text, module, found), encoding="utf-8")
        else:
            shutil.copy2(path, dest)
    shutil.copy2(Path(__file__).with_name("runtime.py"), out / "backproplab" / "_published.py")
    with open(out / "backproplab" / TABLE_FILE, "wb") as fh:
        _plain_pickler(fh).dump(tables)
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = "[\n" + "".join(f'    "{d}",\n' for d in _learner_dependencies()) + "]"
    (out / "pyproject.toml").write_text(PYPROJECT.format(version=meta["version"], dependencies=deps,
                                                         tables=TABLE_FILE), encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    (out / "binder").mkdir()
    shutil.copy2(ROOT / "binder" / "environment.yml", out / "binder" / "environment.yml")
    (out / "binder" / "postBuild").write_text(POSTBUILD, encoding="utf-8")
    (out / "binder" / "postBuild").chmod(0o755)
    (out / "scripts").mkdir()
    (out / "scripts" / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy2(ROOT / "scripts" / "learner_setup.py", out / "scripts" / "learner_setup.py")
    (out / "backproplab" / "_published_skipped.txt").write_text("".join(f"{c}\n" for c in sorted(set(skipped))))
    return {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
