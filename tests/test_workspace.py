"""`make lab` works in a copy of course/ that never overwrites a learner's saved work."""

from pathlib import Path

from scripts.workspace import sync

REPO = Path(__file__).resolve().parents[1]


def test_sync_copies_missing_files_and_keeps_existing_ones(tmp_path):
    src, dst = tmp_path / "course", tmp_path / "my-work"
    (src / "01_a").mkdir(parents=True)
    (src / "01_a" / "01_a.ipynb").write_text("release v1")
    (src / "02_b").mkdir()
    (src / "02_b" / "02_b.ipynb").write_text("release v1")
    assert len(sync(src, dst)) == 2
    (dst / "01_a" / "01_a.ipynb").write_text("my answers")
    (src / "01_a" / "01_a.ipynb").write_text("release v2")
    (src / "03_c").mkdir()
    (src / "03_c" / "03_c.ipynb").write_text("new notebook")
    assert sync(src, dst) == [dst / "03_c" / "03_c.ipynb"]
    assert (dst / "01_a" / "01_a.ipynb").read_text() == "my answers"


def _make_lab(prefix: list[str]):
    """`make -n lab` run through ``prefix``: (the recipe's lines, its `jupyter lab` line)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, MAKEFLAGS="")
    recipe = subprocess.run([*prefix, "make", "-n", "-B", "lab", f"BIN={Path(sys.executable).parent}"], cwd=REPO,
                            capture_output=True, text=True, check=True, env=env).stdout.splitlines()
    return recipe, next(ln for ln in recipe if "jupyter lab" in ln)


def _serve(line: str, tmp_path, prefix: list[str]) -> str:
    """Run ``line`` (the Makefile's own `jupyter lab` command) from a folder holding my-work/ until it serves."""
    import os
    import shlex
    import shutil
    import subprocess
    import time

    shutil.copytree(REPO / "course", tmp_path / "my-work")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    extra = ["--no-browser", "--ServerApp.port=0", "--ServerApp.token=test"]
    proc = subprocess.Popen([*prefix, *shlex.split(line), *extra], cwd=tmp_path, env=env, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    log, deadline = "", time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None and "http://127.0.0.1" not in log:
            log += proc.stderr.readline()
    finally:
        proc.terminate()
        log += proc.communicate(timeout=30)[1]
    return log


def test_make_lab_serves_the_first_notebook(tmp_path):
    """The `jupyter lab` line of `make lab`, as make would run it for whoever runs the tests (root in a container,
    CI and here): it must find the notebook it opens (jupyter resolves that path from the current folder, not
    from root_dir), start as root, and serve."""
    import os

    recipe, line = _make_lab([])
    log = _serve(line, tmp_path, [])
    assert "No such file" not in log, log
    assert "Running as root is not recommended" not in log, log
    assert "http://127.0.0.1" in log, log
    said = [ln for ln in recipe if "--allow-root" in ln and "jupyter lab" not in ln]
    if os.geteuid() == 0:  # says once why
        assert len(said) == 1 and "you are root" in said[0], recipe
    else:
        assert not said and "--allow-root" not in line, recipe


def test_make_lab_as_an_ordinary_user(tmp_path):
    """`make lab` for a user who is not root: no --allow-root, no word about it, and the server starts.

    As root, the test runs make and the server in a new user namespace (`unshare --user`), where they are uid
    65534 (nobody) to themselves: make's `id -u` and JupyterLab's root check see an ordinary user, while the
    files (the interpreter may live under /root) stay readable."""
    import os

    prefix = ["unshare", "--user"] if os.geteuid() == 0 else []
    recipe, line = _make_lab(prefix)
    assert "--allow-root" not in "\n".join(recipe), recipe
    log = _serve(line, tmp_path, prefix)
    assert "http://127.0.0.1" in log, log
