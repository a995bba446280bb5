"""The learner build's package source: graded functions and recognised mistakes without their code.

- every target function (a reference, or a package function named like an exercise) keeps its signature and
  gets the body ``return _published.reference(KEY, PARAMS)``;
- in ``checks/``, every ``Mistake(name, message, wrong)`` gets ``_published.mistake(name)`` as ``wrong``, and
  the functions and lambdas that only those mistakes used are removed;
- the checks measure an answer's distance with their own ``checking.measure.relative_gap``, not with the
  graded ``relative_error`` (which is a table like every graded function);
- comments go (the source is regenerated from its syntax tree).
"""

from __future__ import annotations

import ast

from backproplab.publish.record import param_source


def _import_published() -> ast.stmt:
    return ast.parse("from backproplab import _published").body[0]


def _insert_import(tree: ast.Module) -> None:
    at = 0
    for i, node in enumerate(tree.body):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and i == 0) or (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            at = i + 1
    tree.body.insert(at, _import_published())


def _tabulated_body(fn, key: str) -> list[ast.stmt]:
    _, items = param_source(fn)
    return ast.parse(f"return _published.reference({key!r}, {items})").body


def _is_mistake_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "Mistake")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "Mistake")))


class _Mistakes(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if not _is_mistake_call(node):
            return node
        def arg(i, key):
            return node.args[i] if len(node.args) > i else next(k.value for k in node.keywords if k.arg == key)

        table = ast.parse("_published.mistake(None, None)", mode="eval").body
        table.args = [arg(0, "name"), arg(1, "message")]
        if len(node.args) >= 3:
            node.args[2] = table
        else:
            node.keywords = [k for k in node.keywords if k.arg != "wrong"] + [ast.keyword("wrong", table)]
        return node


def _loaded_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # __all__ entries
    return names


def _remove_unused(tree: ast.Module) -> None:
    """Drop function definitions and ``name = lambda ...`` that nothing refers to any more (to a fixpoint)."""
    while True:
        used = _loaded_names(tree)
        removed = False
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            keep = []
            for stmt in body:
                dead = (isinstance(stmt, ast.FunctionDef) and stmt.name not in used) or (
                    isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Lambda)
                    and all(isinstance(t, ast.Name) and t.id not in used for t in stmt.targets))
                removed |= dead
                if not dead:
                    keep.append(stmt)
            if len(keep) != len(body):
                node.body = keep or [ast.Pass()]
        if not removed:
            return


def transform_module(source: str, module: str, targets: dict) -> str:
    """The build's version of ``module`` (dotted name) whose original text is ``source``."""
    tree = ast.parse(source)
    changed = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and f"{module}.{node.name}" in targets:
            fn = targets[f"{module}.{node.name}"]
            node.body = _tabulated_body(fn, f"{module}.{node.name}")
            node.decorator_list = []
            changed = True
    if module.startswith("backproplab.checks."):
        _Mistakes().visit(tree)
        _remove_unused(tree)
        changed = True
    if changed:
        _insert_import(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n"
