"""The learner build's notebooks, every answer cell holding the solution, each run once in a real kernel on the
build's package (as a learner who got everything right, notebook 08 on the saved 02-07 beside it), its
explorers then moved through their positions in that kernel: every cell runs, 08 trains on the learner's own
parts, and every explorer redraws."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.publish.kernels import answered_course, check_moves, errors_of, execute, run_with_explorers, text_of


@pytest.fixture(scope="module")
def runs(build, tmp_path_factory) -> dict[str, tuple[nbformat.NotebookNode, dict]]:
    """``{notebook name: (executed notebook, explorer moves)}``: the build's course answered and saved, each
    notebook run once."""
    saved = answered_course(build, tmp_path_factory.mktemp("answered"))
    done = {}
    for path in sorted(saved.glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        done[path.name] = nb, run_with_explorers(nb, path, build)
    return done


def test_the_notebooks_run_in_a_kernel_on_the_build(build, runs):
    """Every notebook of the build, answered, runs top to bottom in a real kernel that imports the build's
    package; the only errors are the figures whose tables were too large (listed in the build), which say so."""
    skipped = set((build / "backproplab" / "_published_skipped.txt").read_text().split())
    failures = {}
    assert len(runs) == 8, sorted(runs)
    for name, (nb, _) in runs.items():
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    failures[f"{name}:{cell.get('id')}"] = f"{output['ename']}: {output['evalue']}"
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert not any(o.get("output_type") == "error" for o in first.outputs), name
    (run,) = [c for c in runs["07_optimizers.ipynb"][0].cells if c.get("id") == "s6-run"]
    text = "".join(o.get("text", "") for o in run.outputs)  # the training figure, with the solutions' optimizers
    assert "using your adam" in text and "using your rmsprop" in text, text
    assert any("Figure" in str(o.get("data", {})) for o in run.outputs), run.outputs
    unexpected = {k: v for k, v in failures.items() if k not in skipped or not v.startswith("NotPublished")}
    assert not unexpected, unexpected
    assert set(failures) <= skipped
    assert not skipped  # every figure is tabulated (07's training figure by near inputs: record.NEAR)


def test_notebook_08_trains_the_learners_own_parts_in_the_build(runs):
    """Notebook 08 in the build, every notebook answered and saved: its network is made of the learner's parts
    from 02-07 (section 2 says so, part by part), it trains to the target, and every cell runs."""
    nb, _ = runs["08_training.ipynb"]
    assert not errors_of(nb), {k: v["evalue"][:300] for k, v in errors_of(nb).items()}
    collected = text_of(nb, "s2-collect")
    assert "11 of 11 parts are yours" in collected, collected
    run = text_of(nb, "s7-run")
    accuracy = float(re.search(r"validation accuracy: ([\d.]+)%", run).group(1))
    assert accuracy >= 95.0 and "with 11 of 11 parts of your own" in run, run
    assert "target 95%" in text_of(nb, "test-train-digits")
    assert "validation accuracy" in text_of(nb, "s9-measure") and "AdamW" in text_of(nb, "s9-measure")


def test_every_explorer_redraws_in_the_build_answered(runs):
    """Every explorer of the build's notebooks, answered, in a real kernel on the build's package, moved control
    by control to its ends and random reachable values, then to random whole positions: no move raises or shows
    NotPublished, and each explorer's display changes (the explorers that call graded functions included:
    gradient check, init, vanishing gradients, loss, race)."""
    check_moves({label: m for _, moves in runs.values() for label, m in moves.items()}, answered=True)


def test_a_cell_past_its_time_fails_the_test_and_says_which(tmp_path):
    """The kernel tests never hang: a cell still running at the deadline fails them, naming the notebook and cell."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", id="quick"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(60)", id="slow")])
    with pytest.raises(pytest.fail.Exception, match=r"late\.ipynb: cell \['slow'\] still running after 3 s"):
        execute(nb, tmp_path / "late.ipynb", tmp_path, seconds=3)
