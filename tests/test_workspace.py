"""`make lab` works in a copy of course/ that never overwrites a learner's saved work."""

from scripts.workspace import sync


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


def test_make_lab_serves_the_first_notebook(tmp_path):
    """The `jupyter lab` line of `make lab`, as make would run it: it must find the notebook it opens
    (jupyter resolves that path from the current folder, not from root_dir) and serve."""
    import os
    import shlex
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    recipe = subprocess.run(["make", "-n", "-B", "lab", f"BIN={Path(sys.executable).parent}"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in recipe.splitlines() if "jupyter lab" in ln)
    shutil.copytree(repo / "course", tmp_path / "my-work")
    extra = ["--no-browser", "--ServerApp.port=0", "--ServerApp.token=test"]
    extra += ["--allow-root"] if os.geteuid() == 0 else []
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen(shlex.split(line) + extra, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    log, deadline = "", time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None and "http://127.0.0.1" not in log:
            log += proc.stderr.readline()
    finally:
        proc.terminate()
        log += proc.communicate(timeout=30)[1]
    assert "No such file" not in log, log
    assert "http://127.0.0.1" in log, log
