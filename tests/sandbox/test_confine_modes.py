"""What a grading kernel can reach, as root and as an ordinary user (a user namespace, no root anywhere).

The grader runs as the mode's account (root, or an ordinary user the tests create) on a course folder that
account owns, in its home folder; one cell, run in the confined kernel, tries to reach everything it must not:
the gradebook, the sources, the tests, ``.git``, another submission, the rest of ``/home``, the grader's own
files through ``/proc``, the network, and to write anywhere but its scratch folder or undo a mount.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import textwrap

import pytest

from tests.sandbox.users import MODES, account, give, run_as, workspace

PROBE_CELL = r'''
import ctypes, json, os, socket
course, grader, port = {course!r}, {grader}, {port}
out = {{}}
def read(path):
    try:
        if os.path.isdir(path):
            return "listed: " + ",".join(sorted(os.listdir(path)))
        with open(path, "rb") as fh:
            return "read %d bytes" % len(fh.read())
    except OSError as exc:
        return type(exc).__name__
def write(path):
    try:
        with open(path, "a") as fh:
            fh.write("planted")
        return "written"
    except OSError as exc:
        return type(exc).__name__
for name in ["autograder/gradebook.db", "autograder", "solutions/ps1/ps1.ipynb", "tests", ".git/config",
             "autograder/submitted/other/ps1/ps1.ipynb", "course"]:
    out["read " + name] = read(os.path.join(course, name))
for name in ["autograder/gradebook.db", "autograder/planted.txt", "solutions/ps1/planted.py",
             "autograder/submitted/other/ps1/ps1.ipynb"]:
    out["write " + name] = write(os.path.join(course, name))
out["write home"] = write(os.path.join(os.path.dirname(course), "planted.txt"))
out["write /tmp"] = write("/tmp/planted.txt")
out["write /dev/shm then read back"] = write("/dev/shm/x")
out["write scratch"] = write("answer-scratch.txt")
found = []
for top in ["/home", "/root", "/tmp", "/work", "/var", "/srv", "/opt"]:
    for folder, dirs, files in os.walk(top):
        found += [os.path.join(folder, f) for f in files if f == "gradebook.db" and "-packages/" not in folder]
out["gradebook.db found"] = found
out["via /proc root"] = read("/proc/%d/root%s/autograder/gradebook.db" % (grader, course))
out["via /proc cwd"] = read("/proc/%d/cwd" % grader)
try:
    socket.create_connection(("127.0.0.1", port), timeout=3).close()
    out["tcp to the grader's port"] = "connected"
except OSError as exc:
    out["tcp to the grader's port"] = type(exc).__name__
libc = ctypes.CDLL(None, use_errno=True)
out["umount /home"] = "unmounted" if libc.umount2(b"/home", 2) == 0 else os.strerror(ctypes.get_errno())
out["uid"] = os.getuid()
with open("/proc/self/status") as fh:
    out["status"] = {{k: v.strip() for k, v in (l.split(":", 1) for l in fh)
                     if k.startswith("Cap") or k in ("NoNewPrivs", "Seccomp", "Uid", "Gid", "Groups")}}
with open("/proc/self/cmdline", "rb") as fh:  # a forked kernel keeps its template's command line
    out["forked"] = b"backproplab.sandbox.forkserver" in fh.read()
print("PROBE " + json.dumps(out))
'''

GRADER = textwrap.dedent('''
    import json, os, socket, sys
    from pathlib import Path
    from nbformat.v4 import new_code_cell, new_notebook
    from backproplab.sandbox import execute_confined
    from tests.sandbox.test_confine_modes import PROBE_CELL
    course = Path(sys.argv[1])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    cell = PROBE_CELL.format(course=str(course), grader=os.getpid(), port=listener.getsockname()[1])
    run = execute_confined(new_notebook(cells=[new_code_cell(cell)]), record_dir=course.parent / "records",
                           seed=1, workdir=None)
    text = "".join(o.get("text", "") for o in run.nb.cells[0].outputs)
    print(json.dumps({"confinement": run.confinement, "problem": run.problem, "log": run.kernel_log,
                      "outputs": run.nb.cells[0].outputs, "probe": json.loads(text.split("PROBE ", 1)[1])
                      if "PROBE " in text else None}))
''')


def make_course(root):
    (root / "autograder" / "submitted" / "other" / "ps1").mkdir(parents=True)
    (root / "autograder" / "submitted" / "other" / "ps1" / "ps1.ipynb").write_text("{}")
    (root / "solutions" / "ps1").mkdir(parents=True)
    (root / "solutions" / "ps1" / "ps1.ipynb").write_text('{"hidden": "tests"}')
    (root / "tests").mkdir()
    (root / "tests" / "test_hidden.py").write_text("SECRET = 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "course").mkdir()
    db = sqlite3.connect(root / "autograder" / "gradebook.db")
    db.execute("CREATE TABLE grade (student TEXT, score REAL)")
    db.executemany("INSERT INTO grade VALUES (?, ?)", [("alice", 10), ("bob", 10)])
    db.commit()
    db.close()


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


#: The two ways a kernel is started: forked from the kernel template (the default) or a new interpreter.
LAUNCHES = {"template": "1", "exec": "0"}


@pytest.mark.parametrize("launch", LAUNCHES)
@pytest.mark.parametrize("mode", MODES)
def test_a_kernel_reaches_nothing_of_the_course(mode, launch):
    who = account(mode)
    base = workspace(who, "backproplab-confine-test")
    course = base / "course101"
    course.mkdir()
    make_course(course)
    (base / "grader.py").write_text(GRADER)
    give(base, who)
    before = digest(course)
    done = run_as(who, [str(base / "grader.py"), str(course)], cwd=base, timeout=300,
                  env={"BACKPROPLAB_KERNEL_TEMPLATE": LAUNCHES[launch]})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    probe = out["probe"]
    assert out["problem"] is None and probe is not None, (out["problem"], out["log"], out["outputs"])
    assert out["confinement"].startswith("kernel forked from a template") == (launch == "template")
    assert probe["forked"] == (launch == "template")  # seen from inside the kernel, too
    status = probe["status"]
    assert all(int(status[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")), status
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2", status
    if mode == "root":
        assert len(set(status["Uid"].split())) == 1 and int(status["Uid"].split()[0]) >= 1_900_000_000, status
        assert status["Groups"] == "", status
    assert "private mount namespace" in out["confinement"] and "no network" in out["confinement"]
    assert "Landlock ABI" in out["confinement"]
    assert ("a user namespace of its own" in out["confinement"]) == (mode == "user")
    for key, value in probe.items():
        if key.startswith("read "):
            assert value == "FileNotFoundError", (key, value)
    for key in ["write autograder/gradebook.db", "write autograder/planted.txt", "write solutions/ps1/planted.py",
                "write autograder/submitted/other/ps1/ps1.ipynb", "write home", "write /tmp"]:
        assert probe[key] in ("FileNotFoundError", "PermissionError", "OSError"), (key, probe[key])
    assert probe["write scratch"] == "written" and probe["write /dev/shm then read back"] == "written"
    assert probe["gradebook.db found"] == []
    assert probe["via /proc root"] in ("PermissionError", "FileNotFoundError")
    assert probe["via /proc cwd"] in ("PermissionError", "FileNotFoundError")
    assert probe["tcp to the grader's port"] != "connected"
    assert probe["umount /home"] != "unmounted"
    assert digest(course) == before
    assert not (base / "planted.txt").exists()
    shutil.rmtree(base)


def test_grade_refuses_where_user_namespaces_are_forbidden():
    """An ordinary user on a system with ``user.max_user_namespaces = 0``: ``backproplab grade`` names the
    setting before doing anything, and goes on only with ``--accept-weak-confinement`` (saying so)."""
    who = account("user")
    base = workspace(who, "backproplab-forbidden-test")
    (base / "export").mkdir()
    give(base, who)
    command = ["-m", "backproplab.grading", str(base / "export"), "--course", str(base / "nowhere")]
    refused = run_as(who, command, cwd=base, timeout=300, forbid_userns=True)
    assert refused.returncode == 1, refused.stderr[-2000:]
    message = refused.stderr.strip().splitlines()[-1]
    assert message.startswith("backproplab grade: error: the system forbids unprivileged user namespaces "
                              "(user.max_user_namespaces = 0)"), message
    assert "--accept-weak-confinement" in message
    assert not (base / "nowhere").exists()
    accepted = run_as(who, [*command, "--accept-weak-confinement"], cwd=base, timeout=300, forbid_userns=True)
    lines = accepted.stderr.strip().splitlines()
    assert lines[0].startswith("WARNING: grading kernels: ordinary user WITHOUT file-system confinement"), lines
    assert "accepted with --accept-weak-confinement" in lines[0]
    assert "nowhere" in lines[-1]  # then it went on, to the next problem: there is no course there
    # and where user namespaces are allowed, nothing to accept
    allowed = run_as(who, command, cwd=base, timeout=300)
    first = allowed.stderr.strip().splitlines()[0]
    assert first.startswith("grading kernels: ordinary user: a user namespace per kernel"), first
    shutil.rmtree(base)
