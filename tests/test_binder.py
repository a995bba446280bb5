"""Binder builds the course with repo2docker: check the files it reads follow its rules.

repo2docker uses ``binder/`` when that folder exists and then ignores configuration at the top level. It
creates the conda environment of ``binder/environment.yml``, then runs ``binder/postBuild`` (an executable
script) from the repository root. The README's badge opens the first notebook in JupyterLab.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml  # PyYAML comes with jupyter_events, a JupyterLab dependency

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
ENV_FILE = BINDER / "environment.yml"
POSTBUILD = BINDER / "postBuild"
FIRST_NOTEBOOK = "course/01_chain_rule/01_chain_rule.ipynb"
PYTHON_PIN = re.compile(r"^python\s*=\s*(\d+)\.(\d+)(\.\*|\.\d+)?$")


def _environment() -> dict:
    assert ENV_FILE.is_file(), "binder/environment.yml is missing"
    data = yaml.safe_load(ENV_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("dependencies"), list), \
        "binder/environment.yml needs a `dependencies:` list"
    return data


def _postbuild_commands() -> list[list[str]]:
    """postBuild's commands, one token list per line, comments and blank lines left out."""
    assert POSTBUILD.is_file(), "binder/postBuild is missing"
    commands = []
    for line in POSTBUILD.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            commands.append(shlex.split(line, comments=True))
    return commands


def test_environment_pins_python():
    deps = _environment()["dependencies"]
    pins = [d for d in deps if isinstance(d, str) and re.match(r"^python\b\s*[=<>!~]", d.strip())]
    assert pins, "binder/environment.yml must pin python, e.g. `- python=3.11`"
    match = PYTHON_PIN.match(pins[0].replace(" ", ""))
    assert match, f"pin one minor version of python (`python=3.11`), got {pins[0]!r}"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(x) for x in re.search(r">=\s*(\d+)\.(\d+)", requires).groups())
    assert (int(match[1]), int(match[2])) >= minimum, f"{pins[0]} is older than requires-python {requires}"


def test_environment_holds_every_runtime_dependency():
    """postBuild installs the package with --no-deps: its dependencies must come from environment.yml."""
    deps = _environment()["dependencies"]
    names = set()
    for d in deps:
        if isinstance(d, str):
            names.add(re.split(r"[\s=<>!~\[]", d.strip(), maxsplit=1)[0].lower())
        elif isinstance(d, dict) and "pip" in d:
            assert "pip" in names or any(isinstance(x, str) and x.strip() == "pip" for x in deps), \
                "a `pip:` section needs `- pip` among the conda dependencies"
            names.update(re.split(r"[\s=<>!~\[]", p.strip(), maxsplit=1)[0].lower() for p in d["pip"])
    required = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = [r for r in required if re.split(r"[\s=<>!~\[;]", r, maxsplit=1)[0].lower() not in names]
    assert not missing, f"binder/environment.yml lacks {missing} (pyproject.toml [project].dependencies)"


def test_postbuild_is_an_executable_script():
    assert POSTBUILD.is_file(), "binder/postBuild is missing"
    assert os.access(POSTBUILD, os.X_OK), "binder/postBuild must be executable (chmod +x binder/postBuild)"
    first = POSTBUILD.read_text().splitlines()[0]
    assert first.startswith("#!"), f"postBuild needs a shebang line (#!/usr/bin/env bash), got {first!r}"
    tracked = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=REPO, capture_output=True,
                             text=True, check=False).stdout.split()
    if tracked:  # the mode Binder checks out
        assert tracked[0] == "100755", f"git records binder/postBuild as {tracked[0]}: `git update-index --chmod=+x`"
    assert "set -e" in POSTBUILD.read_text(), "postBuild should stop at the first failing command (`set -e`)"


def test_postbuild_installs_the_package_without_dependencies():
    installs = []
    for cmd in _postbuild_commands():
        if "pip" in cmd and "install" in cmd:
            installs.append(cmd)
            rest = cmd[cmd.index("install") + 1:]
            assert "--no-deps" in rest, f"postBuild installs dependencies with pip: {' '.join(cmd)}"
    editable = [c for c in installs if "-e" in c and c[c.index("-e") + 1] == "."]
    assert editable, "postBuild must run `pip install --no-deps -e .` (the course package, from the checkout)"


def test_postbuild_applies_the_learner_settings():
    runs = [c for c in _postbuild_commands() if "scripts.learner_setup" in c]
    assert runs, "postBuild must run `python -m scripts.learner_setup --prefix ...`"
    cmd = runs[0]
    assert cmd[:3] == ["python", "-m", "scripts.learner_setup"] or cmd[1:3] == ["-m", "scripts.learner_setup"]
    assert "--prefix" in cmd and cmd.index("--prefix") + 1 < len(cmd), "learner_setup needs --prefix"
    prefix = cmd[cmd.index("--prefix") + 1]
    assert "NB_PYTHON_PREFIX" in prefix or "sys.prefix" in prefix, \
        f"--prefix should be the environment running JupyterLab ($NB_PYTHON_PREFIX), got {prefix!r}"


def test_no_configuration_that_would_override_binder_folder():
    """Everything Binder needs is in binder/: no top-level requirements.txt or setup.py hacks, no Dockerfile."""
    for name in ("requirements.txt", "setup.py", "Dockerfile"):
        assert not (REPO / name).exists(), f"top-level {name}: keep Binder's configuration in binder/"
    for name in ("requirements.txt", "setup.py", "Dockerfile", "runtime.txt", "Pipfile", "install.R"):
        assert not (BINDER / name).exists(), f"binder/{name} conflicts with binder/environment.yml"


def test_readme_binder_badge_opens_the_first_notebook_in_jupyterlab():
    readme = (REPO / "README.md").read_text()
    badges = re.findall(r"\[!\[[^\]]*\]\((https://(?:static\.)?mybinder\.org/badge[^)]*)\)\]\(([^)]+)\)", readme)
    assert badges, "README.md has no Binder badge ([![Binder](https://mybinder.org/badge_logo.svg)](...))"
    _image, link = badges[0]
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.netloc == "mybinder.org" and parts.path.startswith("/v2/"), link
    urlpath = parse_qs(parts.query).get("urlpath", [""])[0]
    assert unquote(urlpath).lstrip("/") == f"lab/tree/{FIRST_NOTEBOOK}", \
        f"the badge should open lab/tree/{FIRST_NOTEBOOK}, got urlpath={urlpath!r}"
    assert (REPO / FIRST_NOTEBOOK).is_file(), f"the badge opens {FIRST_NOTEBOOK}, which does not exist"
