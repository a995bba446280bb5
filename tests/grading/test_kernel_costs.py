"""What a graded notebook's kernel costs beyond the learner's code (issue 20, docs/scale.md): a kernel forked from
the template imports nothing at start-up that the template has not imported already, and never loads ipykernel's
debugger (debugpy), in either way of starting a kernel."""

from __future__ import annotations

import json
import subprocess
import sys

from nbformat.v4 import new_code_cell, new_notebook

from backproplab.sandbox import execute_confined
from backproplab.sandbox.confine import template_env
from tests.sandbox.conftest import TEST_LIMITS

#: The environment a grading kernel's imports depend on (steps.KERNEL_ENV), as the template gets it.
IMPORTS = {"NBGRADER_EXECUTION": "autograde", "BACKPROPLAB_DRAW": "0"}
MODULES = "import sys, json\nprint('MODULES', json.dumps(sorted(sys.modules)))\n"
DEBUGGER = "import sys\nprint('DEBUGPY', sys.modules.get('debugpy', 'absent'))\n"


def _printed(run, tag: str) -> str:
    text = "".join(o.get("text", "") for c in run.nb.cells for o in c.get("outputs", []))
    return next(line for line in text.splitlines() if line.startswith(tag)).split(" ", 1)[1]


def _template_modules() -> set[str]:
    """The modules of a kernel template once it has preloaded (a process started as the template is; ``runpy``:
    it is started with ``-m``)."""
    code = ("import sys, json, runpy\nfrom backproplab.sandbox import forkserver\nforkserver.preload()\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-P", "-c", code], env={**template_env(sys.executable), **IMPORTS},
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_forked_kernel_imports_nothing_the_template_has_not(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1\nx"), new_code_cell("print('a cell that prints')"),
                             new_code_cell(MODULES)])
    run = execute_confined(nb, record_dir=tmp_path / "records", seed=1, env=IMPORTS, limits=TEST_LIMITS)
    assert run.problem is None and run.confinement.startswith("kernel forked from a template"), run.kernel_log
    imported = set(json.loads(_printed(run, "MODULES"))) - _template_modules()
    # __main__ and the kernel's compiled cells aside, a kernel's start-up and first cells import nothing new
    assert sorted(m for m in imported if not m.startswith("__")) == []


def test_no_kernel_loads_the_debugger(tmp_path, monkeypatch):
    nb = new_notebook(cells=[new_code_cell(DEBUGGER)])
    for template in ("1", "0"):  # forked from the template, and a new interpreter
        monkeypatch.setenv("BACKPROPLAB_KERNEL_TEMPLATE", template)
        run = execute_confined(nb, record_dir=tmp_path / template, seed=1, env=IMPORTS, limits=TEST_LIMITS)
        assert run.problem is None, run.kernel_log
        assert _printed(run, "DEBUGPY") == "None"  # never imported: an import of it fails
