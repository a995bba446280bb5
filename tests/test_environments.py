"""pyproject.toml holds the version ranges; requirements.lock the exact versions every environment installs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from importlib import metadata

import pytest
import yaml  # PyYAML: a dependency of jupyter_events, itself a dependency of jupyterlab
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from scripts import lock
from tests.conftest import ROOT


def _load(rel: str) -> dict:
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _split(env: dict) -> tuple[list[str], list[str]]:
    """(conda dependencies, lines of the pip: section) of an environment file."""
    conda, pip = [], []
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict):
            pip += [str(line) for line in dep.get("pip") or []]
        else:
            conda.append(str(dep).replace(" ", ""))
    return conda, pip


LOCKED, LOCK_PYTHON, _ = lock.read_lock(lock.LOCK) if lock.LOCK.is_file() else ({}, None, None)


def test_lock_follows_pyproject():
    problems = lock.problems()
    assert not problems, "\n".join(problems)
    assert SpecifierSet(lock.project()["requires-python"]).contains(f"{LOCK_PYTHON}.0"), (
        f"requirements.lock was made with python {LOCK_PYTHON}, outside requires-python")


def test_lock_check_sees_a_changed_range_and_a_version_outside_it(tmp_path):
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = tmp_path / "pyproject.toml"
    changed.write_text(text.replace('"numpy>=2.0,<3"', '"numpy>=2.0,<2.1"'), encoding="utf-8")
    problems = lock.problems(changed)
    assert any("changed since requirements.lock was made" in p for p in problems), problems
    assert any(p.startswith("requirements.lock: numpy==") and "<2.1" in p for p in problems), problems
    stale = tmp_path / "requirements.lock"
    stale.write_text(lock.LOCK.read_text(encoding="utf-8").replace(f"nbgrader=={LOCKED['nbgrader']}", ""))
    assert any("nbgrader is missing" in p for p in lock.problems(lock=stale)), lock.problems(lock=stale)
    assert lock.problems() == [], "the real pair must fit (see test_lock_follows_pyproject)"


def test_installed_versions_are_the_locked_ones():
    """make test installs with `-c requirements.lock`: every locked package at its locked version.
    (CI's scheduled newest-versions job deselects this test: it installs without the lock on purpose.)"""
    wrong = []
    for name, version in LOCKED.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong.append(f"{name}: installed {installed}, locked {version}")
    assert not wrong, ("the environment does not follow requirements.lock (make test reinstalls it):\n"
                       + "\n".join(wrong))


def test_environment_yml_installs_from_the_lock():
    env = _load("environment.yml")
    assert env.get("name") == "backproplab"
    conda, pip = _split(env)
    assert conda == [f"python={LOCK_PYTHON}", "pip"], (
        f"environment.yml: conda gives python={LOCK_PYTHON} (the lock's) and pip only; the rest comes from "
        f"the lock, got {conda}")
    assert pip == ["-c requirements.lock", "-e .[dev]"], f"environment.yml: pip section {pip}"


def test_binder_environment_is_the_locked_runtime():
    env = _load("binder/environment.yml")
    conda, pip = _split(env)
    assert conda == [f"python={LOCK_PYTHON}", "pip"], f"binder/environment.yml: conda dependencies {conda}"
    pins = {}
    for line in pip:
        match = lock.PIN.match(line)
        assert match, f"binder/environment.yml: {line!r} is not an exact pin (run `make lock`)"
        pins[canonicalize_name(match[1])] = match[2]
    differ = [f"{n}=={v} (lock: {LOCKED.get(n)})" for n, v in pins.items() if LOCKED.get(n) != v]
    assert not differ, "binder/environment.yml differs from requirements.lock (run `make lock`): " + ", ".join(differ)
    runtime, dev = lock.requirements()
    missing = [str(r) for r in runtime if canonicalize_name(r.name) not in pins]
    assert not missing, f"binder/environment.yml lacks runtime dependencies {missing} (run `make lock`)"
    dev_only = [r.name for r in dev if canonicalize_name(r.name) in pins]
    assert not dev_only, f"binder/environment.yml holds development tools {dev_only}: Binder is the learner's runtime"
    assert (ROOT / "binder/environment.yml").read_text(encoding="utf-8") == lock.render_binder(pins, LOCK_PYTHON), (
        "binder/environment.yml is not what `make lock` writes")


def test_make_and_ci_install_from_the_lock():
    recipe = subprocess.run(["make", "-n", "-B", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    installs = [line for line in recipe.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all("-c requirements.lock" in line for line in installs), recipe
    ci = _load(".github/workflows/ci.yml")
    steps = [step for job in ci["jobs"].values() for step in job["steps"]]
    assert any(step.get("with", {}).get("cache-dependency-path") == "requirements.lock" for step in steps)
    assert any(step.get("run", "").strip() == "make test" for step in steps), "ci.yml runs `make test` (locked)"


def test_scheduled_job_tries_the_newest_versions():
    newest = _load(".github/workflows/newest.yml")
    triggers = newest.get(True, newest.get("on"))  # YAML 1.1 reads the key `on` as True
    assert triggers.get("schedule"), ".github/workflows/newest.yml: run on a schedule (cron)"
    runs = [step.get("run", "") for job in newest["jobs"].values() for step in job["steps"]]
    assert any("make test" in r and "CONSTRAINTS=" in r for r in runs), (
        "newest.yml: `make test CONSTRAINTS=...` without the lock")


def test_binder_postbuild():
    path = ROOT / "binder" / "postBuild"
    assert path.is_file(), "binder/postBuild is missing"
    assert os.stat(path).st_mode & stat.S_IXUSR, "binder/postBuild must be executable (chmod +x)"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!") and "bash" in text.splitlines()[0], "binder/postBuild: start with a bash shebang"
    assert re.search(r"pip install --no-deps -e \.(\s|$)", text), "binder/postBuild: `pip install --no-deps -e .`"
    assert "scripts.learner_setup --prefix" in text, "binder/postBuild: run scripts.learner_setup"


def test_binder_postbuild_executable_in_git():
    try:
        out = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    if not out:
        pytest.skip("binder/postBuild is not committed yet")
    assert out.startswith("100755"), "binder/postBuild is committed without its executable bit (git add --chmod=+x)"
