"""nbgrader's formgrader (the instructor's manual-grading UI, a Jupyter server extension) on a PostgreSQL
gradebook that ``backproplab grade --db`` filled (issue 17): a real Jupyter server with the extension, run
from the course's ``autograder/`` folder as an instructor starts it (INSTRUCTORS.md), against a real PostgreSQL
server; driven through formgrader's own HTTP API and pages, and its manual-grading form in headless Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.grading.classbuilder import FIXTURE, blank, dumps, make_course, partial, solution, write_tree
from tests.grading.servers import free_port, postgres
from tests.grading.test_cluster import _grade, _scores

BIN = Path(sys.executable).parent
#: formgrader on, whatever the environment's configuration says (``make`` turns it off for learners)
ENABLE = ["--ServerApp.jpserver_extensions", "nbgrader.server_extensions.formgrader=True"]
NOTE = "Right idea for cube(); the sign of negative inputs is lost: 1 point."


class Formgrader:
    """A Jupyter server (token auth, loopback, a free port, throwaway Jupyter config/data/runtime folders)
    started in ``root/autograder`` with ``root`` as its root folder, as INSTRUCTORS.md tells instructors."""

    def __init__(self, root: Path, base: Path):
        self.token = secrets.token_hex(24)
        self.log = base / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        env.update(JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
                   JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"),
                   PYTHONNOUSERSITE="1", PYTHONUNBUFFERED="1")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(BIN / "jupyter"), "server", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
                   *ENABLE]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(command, cwd=root / "autograder", env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                if self.request("GET", "/api/status")[0] == 200:
                    break
            time.sleep(0.3)
        status = self.request("GET", "/formgrader/api/status")[0] if self.proc.poll() is None else None
        if status != 200:
            self.close()
            raise AssertionError(f"no formgrader (status {status}):\n{self.log_tail()}")

    def request(self, method: str, path: str, body=None) -> tuple[int, str]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def api(self, method: str, path: str, body=None):
        status, text = self.request(method, "/formgrader/api/" + path, body)
        assert status == 200, f"{method} {path}: {status}\n{text[-2000:]}\n{self.log_tail()}"
        return json.loads(text)

    def log_tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)


def test_formgrader_grades_by_hand_on_the_postgresql_gradebook_backproplab_grade_wrote(tmp_path):
    root = make_course(tmp_path)
    expected = {"student_ann": 5.0, "student_ben": 2.0, "student_cat": 0.0}
    nbs = {"student_ann": solution(root), "student_ben": partial(root, FIXTURE, ["ex-cube"]),
           "student_cat": blank(root)}
    export = write_tree(tmp_path / "export", {f"{s}/{FIXTURE}.ipynb": dumps(nb) for s, nb in nbs.items()})
    with postgres() as database:
        db = database("gradebook")
        done = _grade(export, "--course", root, "--jobs", 1, "--out", tmp_path / "out", "--no-release",
                      "--db", db, "-a", FIXTURE)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _scores(tmp_path / "out", FIXTURE) == expected
        assert not (root / "autograder" / "gradebook.db").exists()
        # the instructor points the course at the same gradebook, then starts the server from autograder/
        with (root / "autograder" / "nbgrader_config.py").open("a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db!r}\n")
        server = Formgrader(root, tmp_path)
        try:
            _grade_by_hand(server, root, db, export, tmp_path, expected)
        finally:
            server.close()
        assert "Traceback" not in server.log.read_text(errors="replace"), server.log_tail()
        assert not (root / "autograder" / "gradebook.db").exists()  # formgrader never fell back to SQLite


def _grade_by_hand(server: Formgrader, root: Path, db: str, export: Path, tmp_path: Path, expected: dict) -> None:
    from nbgrader.api import Gradebook

    assignments = server.api("GET", "assignments")
    assert [(a["name"], a["num_submissions"], a["max_score"]) for a in assignments] == [(FIXTURE, 3, 5.0)]
    submissions = server.api("GET", f"submissions/{FIXTURE}")
    assert {s["student"]: (s["score"], s["autograded"]) for s in submissions} == {
        s: (v, True) for s, v in expected.items()}
    notebooks = {n["student"]: n for n in server.api("GET", f"submitted_notebooks/{FIXTURE}/{FIXTURE}")}
    assert {s: n["score"] for s, n in notebooks.items()} == expected
    ben = notebooks["student_ben"]["id"]
    grades = {g["name"]: g for g in server.api("GET", f"grades?submission_id={ben}")}
    assert {n: (g["auto_score"], g["manual_score"], g["max_score"]) for n, g in grades.items()} == {
        "test-square": (2.0, None, 2.0), "test-cube": (0.0, None, 3.0)}
    # nbgrader keeps comments on the answer cells (its form puts a comment box under each)
    comments = {c["name"]: c for c in server.api("GET", f"comments?submission_id={ben}")}
    assert sorted(comments) == ["ex-cube", "ex-square"] and {c["manual_comment"] for c in comments.values()} == {None}

    # the manual-grading page of that submission and formgrader's start page render from PostgreSQL
    status, page = server.request("GET", f"/formgrader/submissions/{ben}/")
    assert status == 200, page[-2000:]
    # her name in the breadcrumb, her autograded notebook with the stub's error in the graded cell's output
    assert ">student_ben</a>" in page and f"autograded/student_ben/{FIXTURE}/{FIXTURE}.ipynb" in page, page[:6000]
    assert page.count("NotImplementedError") >= 1 and "student_ann" not in page, page[-3000:]
    status, page = server.request("GET", "/formgrader")  # redirects to its assignments page
    assert status == 200 and "Manage Assignments" in page, page[-2000:]
    status, page = server.request("GET", f"/formgrader/manage_submissions/{FIXTURE}")
    assert status == 200 and FIXTURE in page, page[-2000:]
    status, page = server.request("GET", f"/formgrader/manage_students/student_ben/{FIXTURE}")
    assert status == 200 and "student_ben" in page, page[-2000:]

    # one point by hand for the test of cube() and a comment on her answer, through formgrader's API
    cube = grades["test-cube"]["id"]
    put = server.api("PUT", f"grade/{cube}", {"manual_score": 1.0, "extra_credit": None})
    assert (put["auto_score"], put["manual_score"], put["needs_manual_grade"]) == (0.0, 1.0, False)
    assert server.api("PUT", f"comment/{comments['ex-cube']['id']}", {"manual_comment": NOTE})[
        "manual_comment"] == NOTE
    with Gradebook(db, "backproplab") as gb:  # what formgrader wrote, read from PostgreSQL
        assert gb.find_grade("test-cube", FIXTURE, FIXTURE, "student_ben").manual_score == 1.0
        assert gb.find_comment("ex-cube", FIXTURE, FIXTURE, "student_ben").manual_comment == NOTE
        assert gb.find_submission(FIXTURE, "student_ben").score == 3.0

    # the same by hand in formgrader's own page, in Chromium: a point for cat's square() test and a comment
    _grade_in_chromium(server, notebooks["student_cat"]["id"])
    with Gradebook(db, "backproplab") as gb:
        assert gb.find_grade("test-square", FIXTURE, FIXTURE, "student_cat").manual_score == 1.0
        assert gb.find_comment("ex-square", FIXTURE, FIXTURE, "student_cat").manual_comment == NOTE
    expected = {**expected, "student_cat": 1.0}

    # a forced re-grade (the course configuration's db_url now) keeps the hand-given points and comments
    again = _grade(export, "--course", root, "--jobs", 1, "--out", tmp_path / "out-again", "--no-release",
                   "-a", FIXTURE, "--force")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _scores(tmp_path / "out-again", FIXTURE) == {**expected, "student_ben": 3.0}
    with Gradebook(db, "backproplab") as gb:
        assert gb.find_comment("ex-cube", FIXTURE, FIXTURE, "student_ben").manual_comment == NOTE
        assert gb.find_comment("ex-square", FIXTURE, FIXTURE, "student_cat").manual_comment == NOTE
    # and formgrader, still running, shows the re-graded gradebook
    again = {s["student"]: s["score"] for s in server.api("GET", f"submissions/{FIXTURE}")}
    assert again == {**expected, "student_ben": 3.0}
    assert {n["student"]: n["score"] for n in server.api("GET", f"submitted_notebooks/{FIXTURE}/{FIXTURE}")} == {
        **expected, "student_ben": 3.0}
    cube_now = server.api("GET", f"grade/{cube}")
    assert (cube_now["auto_score"], cube_now["manual_score"]) == (0.0, 1.0)


def _grade_in_chromium(server: Formgrader, submission: str) -> None:
    """:func:`_drive_chromium` in a thread of its own (``tests/browser/conftest.py::in_a_thread``)."""
    from tests.browser.conftest import in_a_thread

    in_a_thread(lambda: _drive_chromium(server, submission))


def _drive_chromium(server: Formgrader, submission: str) -> None:
    """Type a score and a comment into formgrader's manual-grading form of ``submission`` in headless
    Chromium (its page saves each field when it loses focus) and wait until formgrader answered both saves."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, find_chromium

    exe = find_chromium()
    assert exe, "no Chromium: run `make browser` (scripts/ensure-chromium.sh)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # the instructor logs in with the server's token (a session cookie for the page's own API calls)
            page.goto(f"{server.url}/login?next=/formgrader/submissions/{submission}/")
            page.fill("input[name=password]", server.token)
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/formgrader/submissions/{submission}/")
            try:  # the form has loaded the grades from formgrader's API
                page.wait_for_function("() => document.querySelector('input.score#test-square')?.placeholder === '0'")
            except Exception as exc:
                raise AssertionError(f"{exc}\n{errors}\n{server.log_tail()}") from None
            saved = []
            page.on("response", lambda r: saved.append((r.url.split("/formgrader/api/")[1].split("/")[0], r.status))
                    if "/formgrader/api/" in r.url and r.request.method == "PUT" else None)
            page.fill("#test-square", "1")  # saved when the focus moves on, to the comment
            page.fill("#ex-square-comment", NOTE)
            page.locator("#ex-square-comment").blur()  # the instructor clicks elsewhere: the comment is saved
            deadline = time.monotonic() + 60
            while len(saved) < 2 and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            assert sorted(saved) == [("comment", 200), ("grade", 200)], (saved, errors, server.log_tail())
            # nbconvert's template loads MathJax from a CDN, out of reach here; nothing else may fail
            assert [e for e in errors if e != "MathJax is not defined"] == [], errors
        finally:
            browser.close()
