"""The learner build's notebooks as released (or with one answer wrong, or one notebook missing) in a real kernel
on the build's package, in JupyterLab, and graded: every explorer redraws with no answer written, a part that
is missing or off the course's path is named in one line, and a notebook written in the build is graded."""

from __future__ import annotations

import nbformat

from tests.grading.classbuilder import dumps, make_course, write_zip
from tests.grading.test_grade import read_csv, run_grade
from tests.publish.kernels import (
    answered,
    answered_course,
    browser_helpers,
    check_moves,
    errors_of,
    execute,
    explorers_of,
    run_with_explorers,
    text_of,
)


def test_every_explorer_redraws_in_the_build_as_released(build):
    """Every explorer of the build's notebooks as released (no answer written: they fall back on tables of the
    references), in a real kernel on the build's package, moved through their positions: see
    :func:`tests.publish.kernels.check_moves`."""
    moves = {}
    for path in sorted((build / "course").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if explorers_of(nb):
            moves.update(run_with_explorers(nb, path, build))
    check_moves(moves, answered=False)


def test_notebook_08_names_a_missing_part_in_one_line(build, tmp_path):
    """Notebook 03 left as released: no course's part to fall back on in the build, so section 2 names the
    missing parts with their notebook, a cell that needs one says which in one line (no traceback), and the
    checks of 08's own exercises still answer."""
    course = answered_course(build, tmp_path)
    released = build / "course" / "03_backward_pass" / "03_backward_pass.ipynb"
    (course / "03_backward_pass" / "03_backward_pass.ipynb").write_bytes(released.read_bytes())
    path = course / "08_training" / "08_training.ipynb"
    nb = nbformat.read(path, as_version=4)
    execute(nb, path, build)
    collected = text_of(nb, "s2-collect")
    assert "8 of 11 parts are yours" in collected, collected
    for part in ("dense_backward", "relu_backward", "relative_error"):
        assert f"✗ {part} (notebook 03): missing" in collected, collected
    errors = errors_of(nb)
    for cell_id in ("s4-check", "s7-run", "s9-measure", "s10-run"):  # the cells that run the network
        error = errors[cell_id]
        assert error["ename"] == "MissingPart" and "(notebook 03) is not ready" in error["evalue"], (cell_id, error)
        assert error["traceback"] == [f"MissingPart: {error['evalue']}"], error["traceback"]
    for check in ("try-minibatches", "try-numerical-gradients", "try-train-step", "try-train",
                  "try-fixed-loss-and-grads"):
        assert "match the reference" in text_of(nb, check), (check, text_of(nb, check))


def test_a_training_figure_off_the_course_path_says_so_in_one_line(build):
    """Notebook 07's training figure with a learner's Adam that leaves out the bias correction: the network's
    gradients were tabulated along the course's paths only, and the cell says so in one line (how far the
    weights are from the nearest recorded ones), no traceback; the other cells are unaffected (the graded cell
    of ``adam`` names the slip)."""
    path = build / "course" / "07_optimizers" / "07_optimizers.ipynb"
    nb = answered(path)
    (adam,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-adam"]
    adam.source = adam.source.replace("m_hat = m / (1 - b1**t)", "m_hat = m").replace(
        "v_hat = v / (1 - b2**t)", "v_hat = v")
    assert "m_hat = m\n" in adam.source and "v_hat = v\n" in adam.source
    execute(nb, path, build)
    errors = {c.get("id"): o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"}
    assert set(errors) == {"s6-run", "test-adam"}, {k: v["evalue"][:200] for k, v in errors.items()}
    assert "not bias-corrected" in errors["test-adam"]["evalue"]  # the graded cell names the slip
    error = errors["s6-run"]
    assert error["ename"] == "NotPublished" and "away (relative) from the nearest" in error["evalue"], error
    assert error["traceback"] == [f"NotPublished: {error['evalue']}"]


def test_a_notebook_written_in_the_build_is_graded(build, tmp_path):
    name = "03_backward_pass"
    root = make_course(tmp_path, [name])
    right = answered(build / "course" / name / f"{name}.ipynb")
    wrong = answered(build / "course" / name / f"{name}.ipynb")
    for cell in wrong.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex-dense-backward":
            cell.source = cell.source.replace("dW = X.T @ dZ", "dW = X.T @ dZ / X.shape[0]")
            assert "/ X.shape[0]" in cell.source
    export = write_zip(tmp_path / "export.zip", {f"ann/{name}.ipynb": dumps(right), f"ben/{name}.ipynb": dumps(wrong)})
    out = tmp_path / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out, "--no-release")
    assert rc == 0, text
    rows = {r["student_id"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["ann"]["score"]) == float(rows["ann"]["max_score"]) > 0
    exercises = {(r["student_id"], r["cell"]): float(r["score"]) for r in read_csv(out / "exercises.csv")}
    assert exercises[("ben", "test-dense-backward")] == 0
    assert float(rows["ben"]["score"]) < float(rows["ann"]["score"])


def test_the_race_redraws_in_jupyterlab_on_the_build(build, tmp_path):
    """The build's notebook 07 as released, opened in a real JupyterLab (learner settings, the build's package in
    the kernel) in headless Chromium and run cell by cell; the race, which races the references while the
    exercises are not written (their paths are tables), gets its first learning-rate slider moved with the
    keyboard: what it shows changes, and no error or NotPublished appears (in a thread of its own:
    ``tests/browser/conftest.py::in_a_thread``)."""

    conftest, lab_driver = browser_helpers()

    def in_jupyterlab():
        from playwright.sync_api import sync_playwright

        exe = conftest.find_chromium()
        assert exe, "no Chromium: `make browser` installs it"
        (tmp_path / "lab").mkdir()
        server = conftest._start_server(tmp_path / "lab", root=build, env_extra={"PYTHONPATH": str(build)})
        pw = sync_playwright().start()
        try:
            chromium = pw.chromium.launch(executable_path=exe, headless=True, args=conftest.CHROMIUM_ARGS)
            page = chromium.new_context(viewport=conftest.VIEWPORT).new_page()
            page.set_default_timeout(60_000)
            page.on("dialog", lambda dialog: dialog.accept())
            lab = lab_driver.Lab(page, server)
            lab.open("course/07_optimizers/07_optimizers.ipynb")
            lab.run_each()
            assert lab.wait_idle(), "the kernel is still busy after running every cell"
            assert lab.wait_widgets(), "widgets still loading"
            cells = [c for c in lab.report()["cells"] if c["type"] == "code"]
            (race,) = [c for c in cells if "widgets.optimizer_race" in c["source"]]
            (eid,) = [d["explorer"] for d in race["dom"] if d["widget"]]
            explorer = page.locator(f'[data-bplab-explorer="{eid}"]')
            explorer.scroll_into_view_if_needed()
            before = explorer.text_content()
            assert "not written yet: using the reference" in before, before[:500]
            result = lab.poke(eid)
            after = explorer.text_content()
            assert result["control"] == "slider" and result["changed"], (result, after[:800], server.log_tail())
            assert not lab.explorer_errors(eid), lab.explorer_errors(eid)
            assert "NotPublished" not in after and "not part of this course build" not in after
            assert after != before
            chromium.close()
        finally:
            pw.stop()
            conftest._stop_server(server)

    conftest.in_a_thread(in_jupyterlab)
