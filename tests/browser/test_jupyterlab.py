"""Every course and solution notebook, run in JupyterLab in headless Chromium, as a learner sees it.

For each notebook: it opens, all cells run, the kernel ends idle; no error output (course notebooks: only
the unwritten exercises' NotImplementedError); every ipywidgets explorer is a live widget that reacts when
its first slider moves; matplotlib figures appear; the Validate button is on the toolbar; no news pop-up.
A screenshot of each goes to test-artifacts/screenshots/ (the whole notebook when
the test fails or BPLAB_SCREENSHOTS=whole, else the window). The learner's JupyterLab hides
nbgrader's instructor tools, and Validate works. Memory of the server and kernel after the first notebook
goes to test-artifacts/memory.txt (Binder gives 2 GB).
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest
from lab_driver import ARTIFACTS, REPORT, ROOT, SCREENSHOTS, WIDGET_FAILURES, WIDGET_MIME, discover, process_memory

pytestmark = pytest.mark.browser

COURSE = discover("course")
SOLUTIONS = discover("solutions")
BINDER_NOTEBOOK = "course/01_chain_rule/01_chain_rule.ipynb"
FIRST_COURSE = BINDER_NOTEBOOK if BINDER_NOTEBOOK in COURSE else (COURSE[0] if COURSE else None)
MEMORY_LIMIT_MIB = 1536  # 1.5 GB of Binder's 2 GB

NOTEBOOKS = ([pytest.param(nb, id=nb) for nb in COURSE] or [pytest.param("course", id="no-course-notebooks")]) + \
    ([pytest.param(nb, id=nb) for nb in SOLUTIONS] or [pytest.param("solutions", id="no-solution-notebooks")])

# Instructor tools that must not exist in a learner's JupyterLab.
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                      "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:menu")
INSTRUCTOR_COMMANDS = ("nbgrader:open-formgrader", "nbgrader:open-formgrader-local", "nbgrader:open-course-list",
                       "nbgrader:open-create-assignment")
INSTRUCTOR_LABELS = ("Formgrader", "Course List", "Create Assignment", "Nbgrader")


def _is_exercise_error(output: dict) -> bool:
    """An unwritten exercise: its NotImplementedError, or a graded check reporting it as not written yet."""
    return output.get("ename") == "NotImplementedError" or "NotImplementedError" in (output.get("evalue") or "")


def _waits_for_exercise(text: str) -> bool:
    """An explorer showing that the learner's function is not written yet (backproplab's wording)."""
    return "not written yet" in text or "NotImplementedError" in text


def _cell_label(cell: dict) -> str:
    first = cell["source"].strip().splitlines()[0] if cell["source"].strip() else ""
    return f"cell {cell['index']} (id {cell['id']!r}: {first[:60]!r})"


def _news(toasts: list[str]) -> list[str]:
    return [t for t in toasts if "news" in t.lower() or "update" in t.lower()]


def _screenshot_name(nb: str) -> str:
    kind, folder = nb.split("/")[:2]
    return f"{kind}-{folder}.png"


def _training_view_problems(code: list[dict]) -> list[str]:
    """Notebook 08: the training cell shows the live view at its end (progress bar at the last epoch, curves)."""
    cell = next((c for c in code if c["id"] == "s7-run"), None)
    if cell is None:
        return ["no cell 's7-run' (the live training view of notebook 08)"]
    text = " ".join(d["text"] for d in cell["dom"])
    problems = []
    if "epoch 30/30" not in text:
        problems.append(f"{_cell_label(cell)}: the progress bar does not reach 'epoch 30/30': {text[:200]!r}")
    if not any(i["png"] and i["loaded"] for i in cell["images"]):
        problems.append(f"{_cell_label(cell)}: no training curves (image/png) displayed")
    return problems


def _memory(lab_server, nb: str) -> float:
    rows = process_memory(lab_server.proc.pid)
    total = sum(r["rss_mib"] for r in rows)
    pss = sum(r["pss_mib"] for r in rows)
    lines = [f"JupyterLab server + kernel after opening and running {nb}:",
             f"total RSS {total:.0f} MiB, total PSS {pss:.0f} MiB (limit asserted: RSS < {MEMORY_LIMIT_MIB} MiB;"
             f" Binder allows 2048 MiB)"]
    lines += [f"  pid {r['pid']:>7}  RSS {r['rss_mib']:7.1f} MiB  PSS {r['pss_mib']:7.1f} MiB  {r['cmd'][:110]}"
              for r in rows]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "memory.txt").write_text("\n".join(lines) + "\n")
    REPORT["memory"] = "memory: " + lines[1] + " -> test-artifacts/memory.txt"
    print("\n".join(lines))
    return total


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, lab_server, nb):
    if "/" not in nb:
        pytest.fail(f"no notebooks found: {nb}/*/*.ipynb under {ROOT} is empty", pytrace=False)
    kind = nb.split("/")[0]
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = time.perf_counter() - t0 - sum(phases.values())

    lab.open(nb)
    lap("open")
    problems: list[str] = []
    try:
        # Course notebooks: each cell in turn (the exercises raise NotImplementedError and must not stop the
        # explorers after them). Solutions: Run > Run All Cells, which stops at the first error.
        rounds = lab.run_each() if kind == "course" else lab.run_all()
        assert lab.wait_idle(), f"{nb}: the kernel is still busy after running every cell"
        if not lab.wait_widgets():
            problems.append("widgets still show 'Loading widget...' after 30 s")
        lap("run")
        if kind == "course":
            print(f"note: {nb}: cells run in {rounds} round(s) of Run Selected Cell and All Below")
        report = lab.report()
        code = [c for c in report["cells"] if c["type"] == "code"]

        # ---- errors and unexecuted cells
        for cell in code:
            if cell["source"].strip() and cell["execution_count"] is None:
                problems.append(f"{_cell_label(cell)} did not run")
            for out in cell["outputs"]:
                if out["type"] == "error" and not (kind == "course" and _is_exercise_error(out)):
                    problems.append(f"{_cell_label(cell)} shows an error: {out['ename']}: {out['evalue']}")
                if out["type"] == "stream" and out["name"] == "stderr":
                    print(f"note: {nb} {_cell_label(cell)} writes to stderr: {out['text'][:200]!r}")

        # ---- widgets: every widget output is live (no text fallback, no error), and reacts to its slider
        explorers = []
        for cell in code:
            model_widgets = sum(WIDGET_MIME in o["mimes"] for o in cell["outputs"])
            live = [d for d in cell["dom"] if d["widget"]]
            for d in cell["dom"]:
                bad = [f for f in WIDGET_FAILURES if f in d["text"]]
                if bad and (d["widget"] or model_widgets):
                    problems.append(f"{_cell_label(cell)} shows {bad[0]!r} instead of a widget")
            if model_widgets and len(live) < model_widgets:
                problems.append(f"{_cell_label(cell)}: {model_widgets} widget output(s), {len(live)} rendered live")
            explorers += [(cell, d) for d in live if "Error displaying widget" not in d["text"]]
        if not explorers:
            problems.append("no ipywidgets explorer in the notebook (CONTRIBUTING: at least one per notebook)")
        for cell, d in explorers:
            if not d["sliders"]:
                print(f"note: {nb} {_cell_label(cell)}: widget without a slider, moving its dropdown if any")
            if kind == "course" and _waits_for_exercise(lab.explorer_text(d["explorer"])):
                # It runs the learner's unwritten function. Do what it says: pick another function in its
                # dropdown (the reference); then its slider must work. Without a dropdown it waits.
                print(f"note: {nb} {_cell_label(cell)}: explorer waits for an exercise; trying its dropdown")
                if not lab.poke(d["explorer"], control="dropdown")["changed"]:
                    continue
            result = lab.poke(d["explorer"])
            errors = [e for e in lab.explorer_errors(d["explorer"]) if "Error" in e or "Traceback" in e]
            if kind == "course" and errors and all("NotImplementedError" in e for e in errors):
                print(f"note: {nb} {_cell_label(cell)}: explorer needs an unwritten exercise (NotImplementedError)")
                continue
            if result["control"] is None:
                problems.append(f"{_cell_label(cell)}: explorer has no slider or dropdown to move")
            elif not result["changed"]:
                problems.append(f"{_cell_label(cell)}: explorer did not change when its {result['control']} "
                                f"moved ({result['moved']})")
            for err in errors:
                problems.append(f"{_cell_label(cell)}: explorer shows an error after its "
                                f"{result['control']} moved: {err[:200]!r}")

        lap("explorers")

        # ---- matplotlib figures
        images = [i for c in code for i in c["images"]]
        if not any(i["png"] and i["loaded"] for i in images):
            problems.append("no matplotlib figure (image/png) is displayed")
        for cell in code:
            for i, img in enumerate(cell["images"]):
                if not img["loaded"]:
                    problems.append(f"{_cell_label(cell)}: image {i} did not load")

        if "08_training" in nb:
            problems += _training_view_problems(code)

        # ---- the learner's toolbar and notifications
        if not any("validate-button" in t["cls"] and t["text"] == "Validate" for t in report["toolbar"]):
            problems.append("no nbgrader Validate button on the notebook toolbar")
        if news := _news(report["toasts"]):
            problems.append(f"a news/update notification appeared: {news}")

        # ---- the kernel ends idle
        assert lab.wait_idle(), f"{nb}: kernel still busy after the explorers moved"
        status = lab.kernel_status()
        if status != "idle":
            problems.append(f"kernel status at the end is {status!r}, not 'idle'")
    finally:  # also when an assertion above failed: the screenshot shows what went wrong
        try:  # the whole notebook when something went wrong or when asked (BPLAB_SCREENSHOTS=whole), else the window
            whole = bool(problems) or sys.exc_info()[0] is not None or os.environ.get("BPLAB_SCREENSHOTS") == "whole"
            lab.screenshot(SCREENSHOTS / _screenshot_name(nb), whole=whole)
            REPORT["screenshots"] = f"screenshots: {SCREENSHOTS.relative_to(ARTIFACTS.parent)}/"
        except Exception as exc:  # never hide the original failure
            print(f"note: no screenshot of {nb}: {exc}")
        lap("screenshot")
        if nb == FIRST_COURSE:
            total = _memory(lab_server, nb)
        try:
            lab.close()
        except Exception as exc:
            print(f"note: closing {nb} failed: {exc}")
    for err in lab.page.bplab_errors:
        print(f"note: JavaScript error in the page: {err[:300]}")
    lab.page.bplab_errors.clear()
    lap("close")
    print(f"{nb}: {len(explorers)} explorer(s), {len(images)} image(s), {time.perf_counter() - t0:.1f} s (" +
          ", ".join(f"{k} {v:.1f}" for k, v in phases.items()) + ")")
    saved = [p for p in lab_server.saved_files() if not p.lstrip("/").startswith("test-artifacts/")]
    assert not saved, f"JupyterLab saved {saved}: the browser tests must never write into the course"
    assert not problems, f"{nb}:\n  " + "\n  ".join(problems)
    if nb == FIRST_COURSE:
        assert total < MEMORY_LIMIT_MIB, f"server + kernel use {total:.0f} MiB RSS (limit {MEMORY_LIMIT_MIB})"


def test_learner_lab_has_no_instructor_tools(lab, lab_server):
    nb = FIRST_COURSE or (SOLUTIONS[0] if SOLUTIONS else None)
    if nb is None:
        pytest.fail(f"no notebooks under {ROOT}/course or {ROOT}/solutions", pytrace=False)
    lab.open(nb, workspace="bplab-learner-ui")
    try:
        state = lab.page.evaluate("""(args) => {
          const [plugins, commands] = args, app = window.jupyterapp;
          const w = window.__bplab;
          return {
            registered: plugins.filter(p => app.hasPlugin(p)),
            commands: commands.filter(c => app.commands.hasCommand(c)),
            validate: [app.hasPlugin('@jupyter/nbgrader:validate-assignment'),
                       app.isPluginActivated('@jupyter/nbgrader:validate-assignment')],
            validateButton: !!w.toolbar.node.querySelector('.validate-button'),
            menubar: [...document.querySelectorAll('#jp-top-panel .lm-MenuBar-itemLabel')].map(e => e.textContent),
            tabs: [...document.querySelectorAll('.lm-TabBar-tab')].map(e => e.title || e.textContent),
            nbgraderMenu: !!document.getElementById('jp-mainmenu-nbgrader'),
            createAssignmentPanel: !!document.getElementById('nbgrader-create_assignemnt'),
          };
        }""", [list(INSTRUCTOR_PLUGINS), list(INSTRUCTOR_COMMANDS)])
        # Open the command palette: no instructor command is listed.
        lab.page.keyboard.press("Control+Shift+C")
        palette = lab.page.locator("#command-palette")
        palette.wait_for(state="visible", timeout=10_000)
        palette_text = palette.inner_text()
        lab.page.keyboard.press("Escape")
        lab.page.wait_for_timeout(2000)  # the news question would pop up shortly after start
        toasts = lab.page.evaluate("() => [...document.querySelectorAll('.Toastify__toast')].map(t => t.textContent)")
    finally:
        lab.close()
    assert state["registered"] == [], f"instructor plugins loaded: {state['registered']}"
    assert state["commands"] == [], f"instructor commands registered: {state['commands']}"
    assert not state["nbgraderMenu"] and "Nbgrader" not in state["menubar"], state["menubar"]
    assert not state["createAssignmentPanel"]
    for label in INSTRUCTOR_LABELS:
        assert not any(label.lower() in t.lower() for t in state["tabs"]), f"{label!r} tab: {state['tabs']}"
        assert label.lower() not in palette_text.lower(), f"{label!r} in the command palette"
    assert state["validate"] == [True, True], "nbgrader's validate-assignment plugin is not active"
    assert state["validateButton"], "no Validate button on the notebook toolbar"
    assert not _news(toasts), f"news notification shown: {toasts}"

    # The server side: instructor extensions off, validation on, news never fetched.
    assert lab_server.get("/formgrader")[0] == 404, "formgrader server extension is enabled"
    assert lab_server.get("/formgraders")[0] == 404, "course_list server extension is enabled"
    status, body = lab_server.get("/nbgrader_version", version=_nbgrader_version())
    assert status == 200 and '"success": true' in body, f"validate_assignment server extension: {status} {body}"
    status, body = lab_server.get("/lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert status == 200
    import json

    schema = json.loads(body)["schema"]["properties"]
    assert schema["fetchNews"]["default"] == "false", "fetchNews is not overridden to 'false'"
    assert schema["checkForUpdates"]["default"] is False


def _nbgrader_version() -> str:
    import nbgrader

    return nbgrader.__version__


def test_validate_button_validates_a_solution(lab, lab_server):
    """The learner's Validate button runs nbgrader validate through the server: a solution passes."""
    if not SOLUTIONS:
        pytest.fail(f"no notebooks under {ROOT}/solutions", pytrace=False)
    source = ROOT / SOLUTIONS[0]
    # Validate saves the notebook first: work on a copy (test-artifacts/ is ignored by git).
    copy_dir = ROOT / "test-artifacts" / "browser-validate" / source.parent.name
    shutil.rmtree(copy_dir, ignore_errors=True)
    shutil.copytree(source.parent, copy_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = (copy_dir / source.name).relative_to(ROOT).as_posix()
    lab.open(nb, workspace="bplab-validate")
    try:
        lab.page.locator(".validate-button jp-button, .validate-button button").first.click()
        dialog = lab.page.locator(".jp-Dialog")
        dialog.wait_for(state="visible", timeout=300_000)
        title = dialog.locator(".jp-Dialog-header").inner_text()
        body = dialog.locator(".jp-Dialog-body").inner_text()
        success = dialog.locator(".validation-success").count() > 0
        lab.page.screenshot(path=str(SCREENSHOTS / "validate-dialog.png"))
        dialog.locator(".jp-Dialog-button").first.click()
    finally:
        lab.close()
        shutil.rmtree(copy_dir.parent, ignore_errors=True)
    assert title.strip() == "Validation Results", f"{title}: {body[:500]}"
    assert success, f"Validate did not pass on {SOLUTIONS[0]}:\n{body[:1500]}"
