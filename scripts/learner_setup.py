"""Configure the JupyterLab of an environment for learners.

Writes three JSON files into ``PREFIX`` (the virtual environment, or Binder's conda environment), merging
with whatever they already hold, so that running it twice changes nothing:

``etc/jupyter/labconfig/page_config.json``
    disables nbgrader's instructor front-end plugins: the "Nbgrader" menu (whose items open the
    instructor tools), Formgrader, Course List and Create Assignment. The Validate button
    (``@jupyter/nbgrader:validate-assignment``) and the learner's Assignment List stay enabled.
``etc/jupyter/jupyter_server_config.json``
    disables nbgrader's instructor server extensions (formgrader, course_list); ``validate_assignment``
    and ``assignment_list`` stay enabled. This file takes precedence over the ``jupyter_server_config.d``
    entries nbgrader installs (it is what ``jupyter server extension disable --sys-prefix`` writes).
``share/jupyter/lab/settings/overrides.json``
    turns off the "official Jupyter news" pop-up and the update check.

``--undo`` removes these entries again (an instructor's environment); ``--check`` changes nothing and exits 1
when ``PREFIX`` lacks them.

Usage: ``python -m scripts.learner_setup --prefix .venv``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: nbgrader 0.9 JupyterLab plugins an instructor needs and a learner must not see.
DISABLED_LAB_PLUGINS = (
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)
#: nbgrader plugins the learner keeps (never disabled here; checked by the browser tests).
KEPT_LAB_PLUGINS = ("@jupyter/nbgrader:validate-assignment", "@jupyter/nbgrader:assignment-list")

#: nbgrader server extensions serving the instructor tools.
DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)

#: JupyterLab setting overrides: no news pop-up, no update check (Binder and classrooms are often offline).
SETTING_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}

PAGE_CONFIG = Path("etc/jupyter/labconfig/page_config.json")
SERVER_CONFIG = Path("etc/jupyter/jupyter_server_config.json")
OVERRIDES = Path("share/jupyter/lab/settings/overrides.json")


class SetupError(RuntimeError):
    pass


def _read(path: Path) -> dict:
    if not path.exists() or path.stat().st_size == 0:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SetupError(f"{path} is not valid JSON ({exc}); fix or remove it and run again") from None
    if not isinstance(data, dict):
        raise SetupError(f"{path} should hold a JSON object")
    return data


def _write(path: Path, data: dict, dry_run: bool = False) -> bool:
    """Write ``data`` to ``path`` when it differs from what is there; return whether it was (would be) written."""
    text = json.dumps(data, indent=2) + "\n"
    if path.exists():
        old = path.read_text(encoding="utf-8")
        try:
            if old == text or json.loads(old) == data:  # same settings: leave the file as its owner wrote it
                return False
        except json.JSONDecodeError:
            pass
    if dry_run:
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _section(data: dict, *keys: str) -> dict:
    """``data[k1][k2]...``, created as empty objects where missing."""
    for key in keys:
        value = data.get(key)
        if not isinstance(value, dict):
            value = {}
            data[key] = value
        data = value
    return data


def _page_config(data: dict, undo: bool) -> dict:
    disabled = data.get("disabledExtensions")
    if isinstance(disabled, list):  # the older list form: convert, keeping every entry
        disabled = {name: True for name in disabled}
    if not isinstance(disabled, dict):
        disabled = {}
    for plugin in DISABLED_LAB_PLUGINS:
        if undo:
            disabled.pop(plugin, None)
        else:
            disabled[plugin] = True
    for plugin in KEPT_LAB_PLUGINS:
        if disabled.get(plugin):
            disabled.pop(plugin)  # a learner needs these: an old configuration must not hide them
    data["disabledExtensions"] = disabled
    return data


def _server_config(data: dict, undo: bool) -> dict:
    extensions = _section(data, "ServerApp", "jpserver_extensions")
    for name in DISABLED_SERVER_EXTENSIONS:
        if undo:
            extensions.pop(name, None)
        else:
            extensions[name] = False
    return data


def _overrides(data: dict, undo: bool) -> dict:
    for plugin, settings in SETTING_OVERRIDES.items():
        section = _section(data, plugin)
        for key, value in settings.items():
            if undo:
                section.pop(key, None)
            else:
                section[key] = value
        if not section:
            data.pop(plugin)
    return data


def setup(prefix: Path | str, undo: bool = False, check: bool = False) -> list[Path]:
    """Apply (or with ``undo`` remove) the learner configuration in ``prefix``; return the files changed.

    With ``check``, write nothing and return the files that would change.
    """
    prefix = Path(prefix).expanduser().resolve()
    if not prefix.is_dir():
        raise SetupError(f"prefix {prefix} is not a directory")
    changed = []
    for rel, update in ((PAGE_CONFIG, _page_config), (SERVER_CONFIG, _server_config), (OVERRIDES, _overrides)):
        path = prefix / rel
        if undo and not path.exists():
            continue
        if _write(path, update(_read(path), undo), dry_run=check):
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Configure JupyterLab in PREFIX for learners "
                                                 "(hide nbgrader's instructor tools, no news pop-up).")
    parser.add_argument("--prefix", required=True, help="environment prefix, e.g. .venv or $NB_PYTHON_PREFIX")
    parser.add_argument("--undo", action="store_true", help="remove the learner settings (instructor setup)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when PREFIX is not set up")
    args = parser.parse_args(argv)
    try:
        changed = setup(args.prefix, undo=args.undo, check=args.check)
    except SetupError as exc:
        print(f"learner_setup: error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        for path in changed:
            print(f"learner_setup: {path} lacks the learner settings", file=sys.stderr)
        return 1 if changed else 0
    what = "removed learner settings from" if args.undo else "learner settings in"
    if changed:
        for path in changed:
            print(f"learner_setup: {what} {path}")
    else:
        print(f"learner_setup: {Path(args.prefix)} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
