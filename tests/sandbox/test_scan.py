"""The static scan of learner code: what reaches the reference or the grader, and what is only noted."""

from __future__ import annotations

import pytest

from backproplab.sandbox.scan import learner_cells, scan_source, scan_submission
from tests.sandbox.attacks import BY_NAME, release_notebook, source_notebook

BLOCKING = [
    ("from backproplab.layers import dense_backward", {"dense_backward"}),
    ("import backproplab.layers as L\nL.dense_backward(1, 2)", {"dense_backward"}),
    ("import backproplab\nbackproplab.layers.dense_backward", {"dense_backward"}),
    ("from backproplab import layers\nlayers.dense_backward", {"dense_backward"}),
    ("from backproplab.activations import relu_derivative", {"relu_backward"}),  # its reference wraps it
    ("from backproplab.losses import mse_grad as g", {"mse_grad"}),
    ("check.REGISTRY['mse_grad'].reference", None),
    ("getattr(check, 'REGISTRY')", None),
    ("import backproplab.checking as engine", None),
    ("from backproplab.checks.backward_pass import _relu_backward_reference", None),
    ("f.__code__", None),
    ("check.dense_backward.__closure__[0]", None),
    ("x = getattr(obj, name)", None),
    ("exec('1')", None),
    ("__import__('math')", None),
    ("from types import FunctionType", None),
    ("import sys\nsys.modules['x']", None),
    ("get_ipython().run_cell('1')", None),
    ("import subprocess\nsubprocess.run(['python', '-c', 'import backproplab.layers'])", None),
    ("%%script python\nfrom backproplab.layers import dense_backward", None),
]

FINE = [
    "import numpy as np\ndef f(x):\n    return np.maximum(x, 0)",
    "check.dense_backward(dense_backward)",
    "from backproplab import check, plots, widgets",
    "plots.anything(1)",
    "%timeit np.ones(3)",
    "import sys\nsys.exit()",
    "from backproplab.errors import as_array",
    "print('backproplab is great')",
    "def broken(:\n",  # does not parse: nothing to scan (it fails when it runs)
]

NOTES = ["import os\nos.listdir('.')", "open('x')", "import subprocess", "import threading", "!ls"]

#: what honest code writes: reported, costs points only under the strict policy
DYNAMIC = [
    "import numpy as np\ndef act(name, z):\n    return getattr(np, name)(z)",
    "names = [k for k in globals() if k.startswith('relu')]",
    "print(vars(layer))",
    "import inspect\nprint(inspect.signature(dense_backward))\nprint(inspect.getsource(dense_backward))",
    "from inspect import signature\nsignature(f)",
    "import types\nconfig = types.SimpleNamespace(lr=0.1)",
    "import importlib\nimportlib.reload(helpers)",
    "print(layer.__dict__)",
    "class Net:\n    def get(self, name):\n        return getattr(self, name)",
]
#: the same modules, used to reach code objects or frames: these cost points
REACHING_DYNAMIC = [
    "import inspect\nf = inspect.currentframe().f_back",
    "from inspect import currentframe as cf\ncf()",
    "import types\ng = types.FunctionType(code, {})",
    "from types import CodeType",
    "import inspect\ninspect.getmembers(check)",
]


@pytest.mark.parametrize("code", DYNAMIC)
def test_dynamic_is_reported_but_costs_nothing(code):
    hits = scan_source(code)
    assert any(h[2] == "dynamic" for h in hits), hits
    assert not any(h[2] == "reaches" for h in hits), hits


@pytest.mark.parametrize("code", REACHING_DYNAMIC)
def test_dynamic_modules_reaching_code_or_frames(code):
    assert any(h[2] == "reaches" for h in scan_source(code)), code


@pytest.mark.parametrize("code, exercises", BLOCKING, ids=[c.splitlines()[-1][:40] for c, _ in BLOCKING])
def test_blocking(code, exercises):
    hits = [h for h in scan_source(code) if h[2] == "reaches"]
    assert hits, f"not flagged: {code!r}"
    if exercises is None:
        assert any(h[3] is None for h in hits)
    else:
        assert all(h[3] is not None and exercises <= h[3] for h in hits)


@pytest.mark.parametrize("code", FINE)
def test_fine(code):
    assert scan_source(code) == []


@pytest.mark.parametrize("code", NOTES)
def test_noted_only(code):
    hits = scan_source(code)
    assert all(h[2] == "note" for h in hits)


def test_only_the_learners_cells_are_scanned():
    source = source_notebook()
    teaching = source.cells[1]
    teaching.source += "\nfrom backproplab.layers import dense_backward as dense_reference  # a demo"
    sub = BY_NAME["honest"].submission()
    sub.cells[1].source = teaching.source  # unchanged from the source: the instructor's code
    indices = learner_cells(source, sub)
    assert 1 not in indices and all(sub.cells[i].metadata.get("nbgrader", {}).get("solution") for i in indices)
    assert scan_submission(source, sub) == []


def test_findings_name_the_line():
    (finding,) = scan_submission(source_notebook(), BY_NAME["call_reference"].submission())
    assert finding.blocking and finding.line == 1 and "backproplab.layers" in finding.message
    assert finding.exercises >= {"dense_backward"}
    assert scan_submission(source_notebook(), release_notebook()) == []
