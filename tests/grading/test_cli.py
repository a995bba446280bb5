"""The instructor's command as README shows it: ``.venv/bin/backproplab grade``, and what it grades by default."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from backproplab.sandbox.processes import SESSION, stat_fields
from tests.grading.classbuilder import FIXTURE, dumps, make_course, real_assignments, solution, write_zip
from tests.grading.test_grade import read_csv, run_grade

SCRIPT = Path(sys.executable).with_name("backproplab")  # the console script pip installed next to python


def test_console_script_has_the_grade_command(tmp_path):
    assert SCRIPT.is_file(), f"{SCRIPT} missing: `pip install -e .` installs it"
    shown = subprocess.run([SCRIPT, "grade", "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "SUBMISSIONS" in shown.stdout and "--assignment" in shown.stdout, shown.stderr
    missing = subprocess.run([SCRIPT, "grade", tmp_path / "nope.zip"], capture_output=True,
                             text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert missing.returncode == 1 and missing.stderr.strip().endswith("nope.zip does not exist"), missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_by_default_only_the_assignments_in_the_export_are_graded(tmp_path):
    other = real_assignments()[0]
    root = make_course(tmp_path, [other])
    export = write_zip(tmp_path / "export.zip", {
        f"alice_1_2_{FIXTURE}.ipynb": dumps(solution(root)),
        f"bob_3_4_{FIXTURE}.ipynb": dumps(solution(root)),
    })
    out = tmp_path / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 1, "--out", out, "--no-release")
    assert rc == 0, text
    assert f"the export holds {FIXTURE}: grading only that" in text
    rows = read_csv(out / "grades.csv")
    assert {r["assignment"] for r in rows} == {FIXTURE} and len(rows) == 2
    assert other not in (out / "report.txt").read_text()


def _session_processes(sid: int) -> list[int]:
    return [int(name) for name in os.listdir("/proc")
            if name.isdigit() and (fields := stat_fields(name)) and int(fields[SESSION]) == sid]


def test_sigterm_stops_the_run_and_its_workers(tmp_path):
    """`kill` (SIGTERM) during grading: the run stops as on Ctrl-C, says how to resume, and leaves no worker."""
    name = real_assignments()[-1]
    root = make_course(tmp_path, [name])
    export = write_zip(tmp_path / "export.zip",
                       {f"s{k}_{k}_9_{name}.ipynb": dumps(solution(root, name)) for k in range(8)})
    proc = subprocess.Popen([SCRIPT, "grade", export, "--course", root, "--jobs", "2", "--out", tmp_path / "out",
                             "--no-release"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = ""
    for line in proc.stderr:  # wait until grading has started
        seen += line
        if line.startswith("grading "):
            break
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=90)[1]
    assert proc.returncode == 130, seen + rest
    assert "run the same command again" in rest
    deadline = time.monotonic() + 10
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(proc.pid) == [], "workers outlived the run"
