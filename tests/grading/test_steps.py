"""One submission walked through the grading path, step by step (backproplab/grading/steps.py).

``.venv/bin/pytest -q tests/grading/test_steps.py``: the small ``ps1`` assignment of the attack suite
(three exercises judged outside the kernel), its release data read from a real nbgrader gradebook, and a
submission that gets ``dense_backward`` wrong (seed 002's double 1/m) and edits a test cell. Each step of
:data:`~backproplab.grading.steps.STEPS` is run on its own and what it did is checked; then the feedback
page is rendered as a worker renders it after the parent has recorded the grades.
"""

from __future__ import annotations

import nbformat
import pytest

from backproplab.grading import steps
from backproplab.grading.protocol import CellGrade, FeedbackNotebook, FeedbackTask, NotebookTask
from tests.sandbox.attacks import BY_NAME, HIDDEN_MARKER
from tests.sandbox.conftest import TEST_LIMITS, make_course


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments

    tmp = tmp_path_factory.mktemp("steps")
    root = make_course(tmp / "root", only=[])
    course = load_course(root)
    register_assignments(course, ["ps1"])
    with course.gradebook() as gb:
        release = read_assignment_info(course, gb, "ps1").notebooks["ps1"]
    submission = BY_NAME["one_wrong"].submission()
    test_cell = next(c for c in submission.cells if c.metadata.get("nbgrader", {}).get("grade"))
    test_cell.source = "print('all tests pass')"  # an edited test cell: the release's version is run
    nbformat.write(submission, tmp / "ps1.ipynb")
    (tmp / "autograded").mkdir()
    return NotebookTask(name="ps1", student="walker", assignment="ps1", release=release,
                        submission=tmp / "ps1.ipynb", source=root / "solutions" / "ps1" / "ps1.ipynb",
                        dest=tmp / "autograded", seed=2024, limits=TEST_LIMITS, config=course.config)


def _tests(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def test_the_steps_are_declared_in_order():
    assert [s.__name__ for s in steps.STEPS] == ["read", "sanitize", "assemble", "run_confined", "judge", "write"]


def test_one_submission_step_by_step(task, tmp_path):
    work = steps.Work.start(task, tmp_path)  # nothing done yet; the trusted records go to tmp_path
    assert steps.read(work) and work.nb is not None and work.notes == []

    assert steps.sanitize(work)
    assert work.notes == ["test cell 'test-dense-backward' was edited: the release's version was graded"]

    assert steps.assemble(work)
    assert [HIDDEN_MARKER in c.source for c in _tests(work.nb)] == [True, True, True]  # the release's tests

    assert steps.run_confined(work)
    assert work.result.run.problem is None and "seccomp" in work.result.run.confinement
    assert sorted(p.name for p in work.records.iterdir()) == ["test-dense-backward", "test-mse-grad",
                                                              "test-relu-backward"]

    assert steps.judge(work)
    assert work.result.grades == {"test-dense-backward": 0.0, "test-relu-backward": 2.0, "test-mse-grad": 1.0}
    message = work.result.verdicts["test-dense-backward"].message
    assert "1/m" in message and "dense_backward" in message

    assert steps.write(work)
    autograded = nbformat.read(work.result.autograded, as_version=4)
    assert _tests(autograded)[0].outputs[0]["text"].strip() == message  # the verdict, not the kernel's


def test_the_whole_path_and_its_feedback_page(task, tmp_path):
    from backproplab.grading.course import load_course
    from backproplab.grading.feedback import make_exporter, render_feedback

    result = steps.grade_notebook(task)
    assert result.status == "graded" and sum(result.grades.values()) == 3.0
    cells = {gid: CellGrade(score, task.release.grade_cells[gid]) for gid, score in result.grades.items()}
    page_task = FeedbackTask("walker", "ps1", str(tmp_path), {"ps1": FeedbackNotebook(
        result.autograded, result.notes, cells, 3.0, 6.0, 0.0)})
    render_feedback(page_task, make_exporter(load_course(task.source.parents[2])))
    page = (tmp_path / "ps1.html").read_text()
    assert HIDDEN_MARKER not in page and "hidden tests: not shown" in page and "1/m" in page
    assert "test-dense-backward" in page and "was edited" in page  # the notes, on top


def test_judge_reads_the_source_and_scans_the_submission_once(task, tmp_path, monkeypatch):
    """The scores and the instructor's notes come from one scan, the source notebook is parsed once (each was
    done two to four times: issue 20, docs/scale.md)."""
    from backproplab.sandbox import scan, scoring

    work = steps.Work.start(task, tmp_path)
    for step in steps.STEPS[:4]:
        assert step(work)
    scans, reads = [], []
    real_scan, real_read = scan.scan_submission, nbformat.read

    def counted_scan(*args, **kwargs):
        scans.append(1)
        return real_scan(*args, **kwargs)

    def counted_read(*args, **kwargs):
        reads.append(args[0])
        return real_read(*args, **kwargs)

    monkeypatch.setattr(scan, "scan_submission", counted_scan)
    monkeypatch.setattr(scoring, "scan_submission", counted_scan)
    monkeypatch.setattr(nbformat, "read", counted_read)
    assert steps.judge(work)
    assert work.result.grades == {"test-dense-backward": 0.0, "test-relu-backward": 2.0, "test-mse-grad": 1.0}
    assert len(scans) == 1 and reads == [str(task.source)], (scans, reads)
