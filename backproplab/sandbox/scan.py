"""A static look at the learner's own code for the one way around the trusted verdict: the reference itself.

The course package holds the reference implementation of every exercise (learners have it installed, and the
checks need it in the kernel), so an answer can call it instead of computing anything, and the records it
writes are correct. The kernel poisons the reference while a graded check calls the learner's function
(:mod:`.poison`); this scan, which runs in the grader on the submitted text, catches what poisoning cannot:

**blocking** (the exercises concerned score 0, the learner is told which line):
  imports of, or attribute access to, ``backproplab`` modules other than ``check``, ``plots`` and ``widgets``
  that hold (or call) the reference of an exercise; anything reaching the grading machinery
  (``backproplab.checks``/``checking``/``trusted``/``sandbox``/``grading``, ``check.<not a check>``);
  introspection and dynamic code that can reach a function's code or a module without naming it
  (``__code__``, ``__globals__``, ``__closure__``, ``__wrapped__``, ``__subclasses__``, frames,
  ``importlib``, ``inspect``, ``gc``, ``ctypes``, ``types``, ``sys.modules``, ``sys._getframe``,
  ``exec``/``eval``/``compile``/``__import__``/``globals``/``vars``, ``getattr`` with a computed name,
  IPython's ``run_cell``/``user_ns``); string constants that name a ``backproplab`` internal (code for
  a subprocess, a ``%%script`` cell or ``exec``).

**dynamic** (honest code writes this too: ``getattr(np, name)``, ``globals()``, ``vars()``, ``inspect`` to
print a signature or a source, ``types.SimpleNamespace``, ``importlib``, ``obj.__dict__``): reported, and
blocking only under the instructor's strict policy (``strict=True``). What these could reach is caught
elsewhere: calling the reference fails while a check runs (:mod:`.poison`), and copying its code needs one of
the blocking names (``__code__``, ``types.FunctionType``, ``exec``, frames, ...).

**notes** (reported to the instructor, no effect on the grade): processes, files, signals, threads, the
network and the environment (``os``, ``subprocess``, ``open``, ``socket``, ...): the sandbox contains them.

An instructor who reviewed a flagged cell accepts it (``backproplab grade --accept STUDENT:CELL``): its
findings are then reported and cost nothing (``accepted``).

A scan is not a proof: code obfuscated past these rules (or the reference's source pasted into the answer)
is not found. That is copying the answer, a plagiarism question, not a way to forge a grade.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
from dataclasses import dataclass

from .notebook import is_graded_test, read_notebook

ALLOWED = {"check", "plots", "widgets"}
#: backproplab modules that are the grading machinery: any use concerns every exercise.
MACHINERY = ("backproplab.checks", "backproplab.checking", "backproplab.trusted", "backproplab.sandbox",
             "backproplab.grading", "backproplab.cli", "backproplab.release", "backproplab.parts",
             "backproplab.publish", "backproplab.nbexec")
#: The three kinds of finding: reaches the reference or the grader (costs points), dynamic (costs points only
#: under the strict policy), note (never costs points).
REACHES, DYNAMIC, NOTE = "reaches", "dynamic", "note"
INTROSPECTION_ATTRS = {
    "__code__", "__globals__", "__closure__", "__wrapped__", "__builtins__", "__subclasses__",
    "__getattribute__", "__reduce__", "__reduce_ex__", "__func__", "__loader__",
    "__spec__", "__defaults__", "__kwdefaults__",
    "f_globals", "f_locals", "f_back", "f_code", "gi_frame", "cr_frame", "tb_frame", "co_code", "co_consts",
    "cell_contents",
}
#: attributes honest code reads too (printing an object, a class hierarchy)
DYNAMIC_ATTRS = {"__dict__", "__module__", "__self__", "__bases__", "__mro__", "__base__"}
DYNAMIC_NAMES = {"__import__", "exec", "eval", "compile", "breakpoint", "__builtins__", "__loader__", "__spec__"}
HONEST_DYNAMIC_NAMES = {"globals", "vars"}
DYNAMIC_MODULES = {"gc", "ctypes", "builtins", "marshal", "runpy", "imp", "pkgutil", "code", "codeop", "dis",
                   "zipimport", "copyreg", "pickle", "dill", "cloudpickle", "_ctypes", "cffi"}
#: modules honest code uses, with the members that reach code objects, frames or modules all the same
HONEST_DYNAMIC_MODULES = {
    "importlib": set(),
    "inspect": {"currentframe", "stack", "trace", "getouterframes", "getinnerframes", "getclosurevars", "unwrap",
                "getmembers", "getmembers_static", "getattr_static", "getmodule", "getframeinfo"},
    "types": {"FunctionType", "LambdaType", "CodeType", "MethodType", "CellType", "FrameType", "ModuleType",
              "TracebackType", "GeneratorType", "CoroutineType", "BuiltinFunctionType", "MethodWrapperType"},
}
SYS_ATTRS = {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks", "path_importer_cache",
             "_current_frames", "last_traceback", "addaudithook"}
IPYTHON_SAFE = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
NOTE_MODULES = {"os", "subprocess", "shutil", "socket", "signal", "threading", "multiprocessing", "pathlib",
                "resource", "pty", "urllib", "http", "requests", "tempfile", "glob", "io", "asyncio",
                "concurrent", "sqlite3", "fcntl", "mmap", "select"}
NOTE_NAMES = {"open"}
_BACKPROPLAB_STRING = re.compile(r"\bbackproplab\.(?!(?:check|plots|widgets)\b)[A-Za-z_]|"
                                 r"(?:from|import)\s+backproplab\b(?!\s+import\s+(?:check|plots|widgets)\b)")

#: Names the setup cell of every notebook binds.
SETUP_BINDINGS = {"check": "backproplab.check", "plots": "backproplab.plots", "widgets": "backproplab.widgets",
                  "backproplab": "backproplab"}


@dataclass(frozen=True)
class Finding:
    """Something a learner's cell does that the grader looks at."""

    cell: int  # index of the cell in the notebook
    cell_id: str
    line: int
    code: str  # the line, stripped
    what: str  # short description, e.g. "backproplab.layers", "__code__"
    blocking: bool  # costs points (a REACHES finding, or DYNAMIC under the strict policy, and not accepted)
    exercises: frozenset[str] | None  # exercises it concerns; None: all of them
    message: str  # learner-facing
    kind: str = REACHES  # REACHES, DYNAMIC or NOTE
    accepted: bool = False  # the instructor reviewed this cell and accepted it


# --------------------------------------------------------------------------------- what a module holds
def _exercises_reaching(module: str, attr: str | None = None) -> frozenset[str] | None:
    """Exercises whose reference a learner reaches through ``module`` (``.attr``); None: all (machinery)."""
    from backproplab.checks import REGISTRY
    from backproplab.checks._copies import exercises_of

    if module == "backproplab" and attr is None:
        return frozenset()  # the package itself: what matters is which submodule is used next
    if any(module == m or module.startswith(m + ".") for m in MACHINERY):
        return None
    if module == "backproplab.check":
        return None if attr not in REGISTRY else frozenset()
    try:
        mod = importlib.import_module(module)
    except Exception:
        return frozenset()
    if attr is not None and hasattr(mod, attr):
        targets = [getattr(mod, attr), *_members(getattr(mod, attr))]  # training.COURSE_PARTS: what it holds
    else:
        targets = list(vars(mod).values())
    references = {id(ex.reference) for ex in REGISTRY.values()}
    # What the learner reached that is the reference of some exercise (helpers such as as_array are not).
    wanted = {id(t) for t in targets if id(t) in references}
    found = {name for t in targets for name in exercises_of(t)}  # functions that give an answer (_copies)
    for name, ex in REGISTRY.items():
        ref = ex.reference
        if id(ref) in wanted:
            found.add(name)
            continue
        code = getattr(ref, "__code__", None)
        glb = getattr(ref, "__globals__", {})
        if isinstance(code, types.CodeType) and any(id(glb.get(n)) in wanted for n in code.co_names):
            found.add(name)  # a reference that wraps what the learner reached (relu_backward: relu_derivative)
    return frozenset(found)


def _members(obj) -> list:
    """The values a dict, list, tuple or namespace holds (none for anything else)."""
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, types.SimpleNamespace):
        return list(vars(obj).values())
    if isinstance(obj, list | tuple):
        return list(obj)
    return []


def _through_figures(module: str, rest: list[str]) -> frozenset[str] | None:
    """Exercises an answer reaches through ``module`` (of plots or widgets) and the attributes ``rest``: their
    own figures and explorers reach none; a function that gives an answer (:mod:`backproplab.checks._copies`)
    reaches its exercises, and an object they import from elsewhere (a reference, the grading machinery, a
    module such as ``backproplab.optimizers``) reaches what it reaches where it comes from; a dict, tuple or
    namespace reaches what its values reach (``BUGGY_BACKWARDS``, ``DROPOUT_VARIANTS``)."""
    try:
        obj = importlib.import_module(module)
    except Exception:
        return frozenset()
    found: frozenset[str] | None = frozenset()
    for name in rest:
        if not hasattr(obj, name):
            break
        obj = getattr(obj, name)
        reached = _object_reaches(obj)
        found = None if reached is None or found is None else found | reached
    return found


def _object_reaches(obj, depth: int = 0) -> frozenset[str] | None:
    from backproplab.checks._copies import FIGURES, exercises_of

    if isinstance(obj, types.ModuleType):
        name = obj.__name__
        if name.startswith("backproplab.") and not name.startswith(FIGURES):
            return _exercises_reaching(name)
        return frozenset()
    if callable(obj) and not isinstance(obj, type):
        found = exercises_of(obj)
        home, name = getattr(obj, "__module__", None) or "", getattr(obj, "__name__", None)
        if home.startswith("backproplab.") and not home.startswith(FIGURES) and name:
            reached = _exercises_reaching(home, name)
            return None if reached is None else found | reached
        return found
    if depth >= 2:
        return frozenset()
    found = frozenset()
    for value in _members(obj):
        reached = _object_reaches(value, depth + 1)
        if reached is None:
            return None
        found |= reached
    return found


# ----------------------------------------------------------------------------------------- the walk
class _Visitor(ast.NodeVisitor):
    def __init__(self, bindings: dict[str, str]):
        self.bindings = bindings
        self.hits: list[tuple[int, str, str, frozenset[str] | None]] = []  # line, what, kind, exercises

    def hit(self, node, what, kind, exercises=None):
        self.hits.append((getattr(node, "lineno", 1), what, kind, exercises))

    def _module_use(self, node, dotted: str):
        """``dotted`` = a backproplab module path, possibly followed by attributes."""
        parts = dotted.split(".")
        if len(parts) > 1 and parts[1] == "check":
            if len(parts) == 2 or _is_check(parts[2]):
                return
            self.hit(node, ".".join(parts[:3]), REACHES)  # check.<not a check>: the engine behind it
            return
        module, rest = parts[0], parts[1:]
        while rest:
            candidate = module + "." + rest[0]
            try:
                importlib.import_module(candidate)
            except Exception:
                break
            module, rest = candidate, rest[1:]
        if module == "backproplab" and not rest:
            return
        attr = rest[0] if rest else None
        private = next((name for name in rest if name.startswith("_") and not name.startswith("__")), None)
        if private is not None:  # the package's private names are no answer's business (debugging._compile)
            self.hit(node, ".".join([module, *rest[:rest.index(private) + 1]]), REACHES)
            return
        if len(parts) > 1 and parts[1] in ALLOWED:  # plots, widgets: figures and explorers, unless what is reached
            exercises = _through_figures(module, rest)  # through them gives an answer or comes from elsewhere
        else:
            exercises = _exercises_reaching(module, attr)
        if exercises is not None and not exercises:
            return
        what = module + (f".{attr}" if attr else "")
        self.hit(node, what, REACHES, exercises)

    def visit_Import(self, node):
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top == "backproplab":
                self._module_use(node, alias.name)
                self.bindings[alias.asname or top] = alias.name if alias.asname else top
            elif top in DYNAMIC_MODULES:
                self.hit(node, f"import {alias.name}", REACHES)
            elif top in HONEST_DYNAMIC_MODULES:
                self.hit(node, f"import {alias.name}", DYNAMIC)
            elif top in NOTE_MODULES:
                self.hit(node, f"import {alias.name}", NOTE)
            self.bindings.setdefault(alias.asname or top, alias.name if alias.asname else top)

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        top = mod.split(".")[0]
        for alias in node.names:
            if top == "backproplab":
                self._module_use(node, f"{mod}.{alias.name}")
                self.bindings[alias.asname or alias.name] = f"{mod}.{alias.name}"
            elif top in DYNAMIC_MODULES:
                self.hit(node, f"from {mod} import {alias.name}", REACHES)
            elif top in HONEST_DYNAMIC_MODULES:
                reaching = alias.name in HONEST_DYNAMIC_MODULES[top] or alias.name == "*"
                self.hit(node, f"from {mod} import {alias.name}", REACHES if reaching else DYNAMIC)
                self.bindings[alias.asname or alias.name] = f"{mod}.{alias.name}"
            elif top == "sys" and alias.name in SYS_ATTRS:
                self.hit(node, f"sys.{alias.name}", REACHES)
            elif top in NOTE_MODULES:
                self.hit(node, f"from {mod} import {alias.name}", NOTE)

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) \
                and node.value.func.id == "get_ipython" and node.attr not in IPYTHON_SAFE:
            self.hit(node, f"get_ipython().{node.attr}", REACHES)
        dotted = _dotted(node)
        if not dotted:
            self._attribute(node, node.attr)
            self.generic_visit(node)
            return
        # A whole chain a.b.c at once: its inner nodes are not visited again.
        parts = dotted.split(".")
        for part in parts[1:]:
            self._attribute(node, part)
        self.visit_Name(ast.Name(id=parts[0], lineno=node.lineno))
        bound = self.bindings.get(parts[0])
        top = bound.split(".")[0] if bound else None
        if top == "backproplab":
            self._module_use(node, ".".join([bound, *parts[1:]]))
        elif bound == "sys" and len(parts) > 1 and parts[1] in SYS_ATTRS:
            self.hit(node, f"sys.{parts[1]}", REACHES)
        elif top in HONEST_DYNAMIC_MODULES:
            members = [*bound.split(".")[1:], *parts[1:]]
            if members and members[0] in HONEST_DYNAMIC_MODULES[top]:
                self.hit(node, f"{top}.{members[0]}", REACHES)

    def _attribute(self, node, name):
        if name in INTROSPECTION_ATTRS:
            self.hit(node, name, REACHES)
        elif name in DYNAMIC_ATTRS:
            self.hit(node, name, DYNAMIC)

    def visit_Name(self, node):
        if node.id in DYNAMIC_NAMES:
            self.hit(node, node.id, REACHES)
        elif node.id in HONEST_DYNAMIC_NAMES:
            self.hit(node, node.id, DYNAMIC)
        elif node.id in NOTE_NAMES:
            self.hit(node, node.id, NOTE)
        else:
            bound = self.bindings.get(node.id, "")
            top, _, member = bound.partition(".")
            if member and top in HONEST_DYNAMIC_MODULES and member in HONEST_DYNAMIC_MODULES[top]:
                self.hit(node, bound, REACHES)  # from inspect import currentframe as cf; cf()

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr", "setattr", "delattr") \
                and len(node.args) >= 2:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                if func.id == "getattr":
                    self.hit(node, "getattr with a computed name", self._getattr_kind(node.args[0]))
            elif name.value in INTROSPECTION_ATTRS or name.value in DYNAMIC_NAMES:
                self.hit(node, name.value, REACHES)
            elif func.id == "getattr":
                target = _dotted(node.args[0]) if isinstance(node.args[0], (ast.Name, ast.Attribute)) else None
                if target:
                    root, _, rest = target.partition(".")
                    bound = self.bindings.get(root)
                    if bound and bound.split(".")[0] == "backproplab":
                        self._module_use(node, ".".join(p for p in (bound, rest, name.value) if p))
        self.generic_visit(node)

    def _getattr_kind(self, target) -> str:
        """A computed name on a module the learner imported (``getattr(np, name)``) or on ``self``: dynamic;
        on anything else (which may be the course's package or a function): it reaches."""
        if isinstance(target, ast.Name):
            bound = self.bindings.get(target.id)
            if target.id == "self" or (bound and bound.split(".")[0] not in ("backproplab", *DYNAMIC_MODULES,
                                                                               *HONEST_DYNAMIC_MODULES, "sys")
                                       and target.id not in SETUP_BINDINGS):
                return DYNAMIC
        return REACHES

    def visit_Constant(self, node):
        if isinstance(node.value, str) and "backproplab" in node.value and _BACKPROPLAB_STRING.search(node.value):
            self.hit(node, "code naming backproplab internals in a string", REACHES)


def _is_check(name: str) -> bool:
    from backproplab.checks import REGISTRY

    return name in REGISTRY


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:  # IPython syntax (%magics, !shell): scan what IPython would run
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:
        return None


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def learner_cells(source_nb, nb) -> list[int]:
    """Indices of the code cells of ``nb`` written by the learner: not graded test cells, and not identical
    to a cell of the source notebook (the released teaching cells, the read-only set-up)."""
    trusted = {_norm(c.source) for c in read_notebook(source_nb).cells if c.cell_type == "code"}
    return [i for i, c in enumerate(read_notebook(nb).cells)
            if c.cell_type == "code" and not is_graded_test(c) and _norm(c.source) not in trusted]


def scan_source(source: str, bindings: dict[str, str] | None = None) -> list[tuple[int, str, str, frozenset | None]]:
    """``(line, what, kind, exercises)`` for each finding; ``kind``: :data:`REACHES`, :data:`DYNAMIC`, :data:`NOTE`."""
    tree = _parse(source)
    if tree is None:
        return []
    visitor = _Visitor(dict(SETUP_BINDINGS) if bindings is None else bindings)
    visitor.visit(tree)
    return visitor.hits


def scan_submission(source_nb, nb, *, strict: bool = False, accepted=()) -> list[Finding]:
    """Every finding in the learner's cells of ``nb`` (blocking ones first).

    ``strict``: the instructor's policy that dynamic code (:data:`DYNAMIC`) costs points too. ``accepted``:
    ids of the cells the instructor reviewed and accepted: their findings cost nothing."""
    nb = read_notebook(nb)
    accepted = {str(a) for a in accepted}
    bindings = dict(SETUP_BINDINGS)
    for cell in read_notebook(source_nb).cells:  # the names the instructor's cells import (np, math, ...)
        if cell.cell_type == "code" and not is_graded_test(cell) and not cell.metadata.get("nbgrader", {}).get(
                "solution"):
            scan_source(cell.source, bindings)
    findings = []
    for index in learner_cells(source_nb, nb):
        cell = nb.cells[index]
        cell_id = str(cell.get("id", index))
        lines = cell.source.splitlines()
        for line, what, kind, exercises in scan_source(cell.source, bindings):
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            ok = cell_id in accepted and kind != NOTE
            blocking = not ok and (kind == REACHES or (kind == DYNAMIC and strict))
            findings.append(Finding(index, cell_id, line, code[:120], what, blocking, exercises,
                                    _message(index, line, code, what, kind, blocking, exercises, ok), kind, ok))
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: (not f.blocking, f.cell, f.line))


def _message(index, line, code, what, kind, blocking, exercises, accepted=False) -> str:
    where = f"Cell {index + 1}, line {line} (`{code[:80]}`)"
    if accepted:
        return f"{where} uses {what}: reviewed and accepted by your instructor."
    if kind == DYNAMIC and not blocking:
        return (f"{where} uses {what}: noted for your instructor (it could be used to reach the course's "
                f"reference implementation; here it costs nothing).")
    if not blocking:
        return f"{where} uses {what}: noted for your instructor."
    if what.startswith("backproplab.") and exercises is not None:
        names = ", ".join(sorted(exercises))
        return (f"{where} uses the course's reference implementation ({what}): graded answers must be your own "
                f"code, so {names} score{'s' if len(exercises) == 1 else ''} 0. Ask your instructor if you think "
                f"this is a mistake.")
    return (f"{where} uses {what}, which can reach the course's reference implementations or the grader: "
            f"graded answers may not use it, so every exercise of this notebook scores 0. Ask your instructor "
            f"if you think this is a mistake.")
