"""pyproject.toml is the one place where package versions live; the conda and Binder environments follow it."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tomllib

import pytest
import yaml  # PyYAML: a dependency of jupyter_events, itself a dependency of jupyterlab
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(r) for r in PYPROJECT["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["optional-dependencies"]["dev"]]
#: entries of an environment file that are not packages of pyproject.toml
TOOLING = {"python", "pip"}
CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def _load(rel: str) -> dict:
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _entries(env: dict) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(conda packages {name: spec}, pip packages {name: spec}, other pip lines such as `-e .[dev]`)."""
    conda, pip, other = {}, {}, []
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict):
            for line in dep.get("pip") or []:
                if line.startswith("-"):
                    other.append(line)
                else:
                    req = Requirement(line)
                    pip[canonicalize_name(req.name)] = str(req.specifier)
        else:
            name, spec = CONDA_SPEC.match(str(dep)).groups()
            conda[canonicalize_name(name)] = spec
    return conda, pip, other


def _drift(rel: str, wanted: list[Requirement], packages: dict[str, str]) -> list[str]:
    problems = []
    for req in wanted:
        name = canonicalize_name(req.name)
        if name not in packages:
            problems.append(f"{rel}: {req.name} is missing (pyproject.toml: {req})")
        elif SpecifierSet(packages[name]) != req.specifier:
            found = packages[name] or "unpinned"
            problems.append(f"{rel}: {req.name} is {found}, pyproject.toml says {req.specifier}")
    known = {canonicalize_name(r.name) for r in wanted} | TOOLING
    problems += [f"{rel}: {name} is not in pyproject.toml (add it there first)" for name in packages
                 if name not in known]
    return problems


def test_environment_yml_follows_pyproject():
    env = _load("environment.yml")
    assert env.get("name") == "backproplab"
    conda, pip, other = _entries(env)
    both = set(conda) & set(pip) - TOOLING
    assert not both, f"environment.yml lists {sorted(both)} both as conda and pip packages"
    problems = _drift("environment.yml", RUNTIME + DEV, {**conda, **pip})
    assert not problems, "\n".join(problems)
    assert "pip" in conda, "environment.yml: add `pip` (the pip: section needs it)"
    assert SpecifierSet(conda.get("python", "")) == SpecifierSet(PYPROJECT["requires-python"]), (
        f"environment.yml: python {conda.get('python')!r}, pyproject.toml requires-python "
        f"{PYPROJECT['requires-python']!r}")
    assert any(re.fullmatch(r"-e \.(\[dev\])?", line) for line in other), (
        "environment.yml: the pip: section must install the course package (`-e .[dev]`)")


def test_binder_environment_follows_pyproject():
    env = _load("binder/environment.yml")
    conda, pip, _ = _entries(env)
    assert not pip, "binder/environment.yml: no pip: section (postBuild installs the package with --no-deps)"
    problems = _drift("binder/environment.yml", RUNTIME, conda)
    assert not problems, "\n".join(problems)
    assert "pip" in conda, "binder/environment.yml: add `pip` (binder/postBuild uses it)"
    python = conda.get("python", "")
    assert re.fullmatch(r"=3\.\d+", python), f"binder/environment.yml: pin python as `python=3.11`, got {python!r}"
    assert SpecifierSet(PYPROJECT["requires-python"]).contains(python.lstrip("=") + ".0"), (
        f"binder/environment.yml: python{python} does not satisfy requires-python {PYPROJECT['requires-python']}")


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
