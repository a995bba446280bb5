"""scripts/learner_setup.py: the learner's JupyterLab settings, merged into existing files, idempotent."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from scripts import learner_setup as ls

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_fresh_prefix_gets_all_three_files_and_a_second_run_changes_nothing(tmp_path):
    changed = ls.setup(tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in changed) == sorted([ls.PAGE_CONFIG, ls.SERVER_CONFIG, ls.OVERRIDES])
    disabled = _load(tmp_path / ls.PAGE_CONFIG)["disabledExtensions"]
    assert disabled == {p: True for p in ls.DISABLED_LAB_PLUGINS}
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
    extensions = _load(tmp_path / ls.SERVER_CONFIG)["ServerApp"]["jpserver_extensions"]
    assert extensions == {"nbgrader.server_extensions.formgrader": False,
                          "nbgrader.server_extensions.course_list": False}
    assert _load(tmp_path / ls.OVERRIDES)["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    before = {p: p.read_text() for p in changed}
    assert ls.setup(tmp_path) == []
    assert ls.setup(tmp_path, check=True) == []
    assert {p: p.read_text() for p in changed} == before


def test_merges_with_existing_settings(tmp_path):
    (tmp_path / ls.PAGE_CONFIG).parent.mkdir(parents=True)
    (tmp_path / ls.PAGE_CONFIG).write_text(json.dumps({
        "disabledExtensions": ["some-ext:plugin", "@jupyter/nbgrader:validate-assignment"], "other": 1}))
    (tmp_path / ls.SERVER_CONFIG).write_text(json.dumps({
        "ServerApp": {"ip": "0.0.0.0", "jpserver_extensions": {"x": True}}, "LabApp": {"a": 1}}))
    (tmp_path / ls.OVERRIDES).parent.mkdir(parents=True)
    (tmp_path / ls.OVERRIDES).write_text(json.dumps({
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"doNotDisturbMode": True}}))
    ls.setup(tmp_path)
    page = _load(tmp_path / ls.PAGE_CONFIG)
    assert page["other"] == 1 and page["disabledExtensions"]["some-ext:plugin"] is True
    assert "@jupyter/nbgrader:validate-assignment" not in page["disabledExtensions"]  # a learner needs it
    server = _load(tmp_path / ls.SERVER_CONFIG)
    assert server["ServerApp"]["ip"] == "0.0.0.0" and server["LabApp"] == {"a": 1}
    assert server["ServerApp"]["jpserver_extensions"]["x"] is True
    overrides = _load(tmp_path / ls.OVERRIDES)
    assert overrides["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert overrides["@jupyterlab/apputils-extension:notification"] == {
        "doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}


def test_undo_removes_only_the_learner_entries(tmp_path):
    (tmp_path / ls.OVERRIDES).parent.mkdir(parents=True)
    (tmp_path / ls.OVERRIDES).write_text(json.dumps({"a:b": {"c": 1}}))
    ls.setup(tmp_path)
    ls.setup(tmp_path, undo=True)
    assert _load(tmp_path / ls.PAGE_CONFIG)["disabledExtensions"] == {}
    assert _load(tmp_path / ls.SERVER_CONFIG)["ServerApp"]["jpserver_extensions"] == {}
    assert _load(tmp_path / ls.OVERRIDES) == {"a:b": {"c": 1}}
    assert ls.setup(tmp_path, check=True)  # no longer set up


def test_cli_reports_invalid_json_without_touching_it(tmp_path, capsys):
    bad = tmp_path / ls.PAGE_CONFIG
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    assert ls.main(["--prefix", str(tmp_path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    assert bad.read_text() == "{not json"
    assert ls.main(["--prefix", str(tmp_path / "missing")]) == 1


def test_cli_check(tmp_path):
    assert ls.main(["--prefix", str(tmp_path), "--check"]) == 1
    assert not (tmp_path / "etc").exists()
    assert ls.main(["--prefix", str(tmp_path)]) == 0
    assert ls.main(["--prefix", str(tmp_path), "--check"]) == 0


@pytest.mark.parametrize("module", ls.DISABLED_SERVER_EXTENSIONS + ("nbgrader.server_extensions.validate_assignment",))
def test_server_extension_names_exist(module):
    assert importlib.util.find_spec(module) is not None, f"nbgrader has no {module}: update learner_setup"


def test_nbgrader_plugin_ids_exist():
    """The ids disabled must be nbgrader's real plugin ids (a renamed plugin would silently stay enabled)."""
    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
    code = "".join(p.read_text(errors="replace") for p in static.glob("*.js"))
    assert code, f"nbgrader's labextension is not installed in {sys.prefix}"
    for plugin in ls.DISABLED_LAB_PLUGINS + ls.KEPT_LAB_PLUGINS:
        assert f'"{plugin}"' in code, f"nbgrader has no plugin {plugin}"


def test_project_venv_has_the_learner_settings():
    """`make` runs learner_setup when it creates .venv; a .venv made before that lacks them."""
    venv = REPO / ".venv"
    if Path(sys.prefix).resolve() != venv.resolve():
        return  # only the project's own environment is checked here
    missing = ls.setup(venv, check=True)
    assert not missing, f"{missing} lack the learner settings: run `.venv/bin/python -m scripts.learner_setup " \
                        f"--prefix .venv`"
