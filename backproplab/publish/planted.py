"""The learner build's ``backproplab/debugging.py``: the planted backward passes without the correct one.

Notebook 08's debugging exercise prints each learner's planted backward pass (one bug of
:data:`backproplab.debugging.BUGS`, drawn from the learner's folder) and asks for it fixed. The full module
makes every variant from ``SOURCE``, the correct pass, and each bug's correct ``line``. The build's module
holds instead the eight planted sources as written out at publish time (``VARIANTS``), each bug without its
correct line, ``SOURCE = None``, and the correct pass (``loss_and_grads``, the reference of
``fixed_loss_and_grads``) as a table like every graded function (:mod:`.transform` gives it its body).

What the build cannot hide: a variant shows every line the other bugs replace, correct (the learner's own
printout does: the slip is one line of an otherwise correct pass), so the eight variants side by side show
the correct lines. The build holds no correct pass as a whole, in code or in a string.
"""

from __future__ import annotations

import ast

MODULE = "backproplab.debugging"


def _assigned(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def _statements(text: str) -> list[ast.stmt]:
    return ast.parse(text).body


def build_source(source: str) -> str:
    """``debugging.py``'s text (``source``) rewritten for the build (then transformed like any module)."""
    from backproplab import debugging

    variants = tuple(debugging.planted_source(k) for k in range(len(debugging.BUGS)))
    bugs = ", ".join(f"Bug({b.name!r}, None, {b.wrong_line!r}, {b.breaks!r})" for b in debugging.BUGS)
    tree = ast.parse(source)
    body: list[ast.stmt] = []
    done = set()
    for node in tree.body:
        name = _assigned(node) or getattr(node, "name", None)
        if name == "SOURCE":
            body += _statements(f"SOURCE = None\nVARIANTS = {variants!r}\n")
        elif name == "BUGS":
            body += _statements(f"BUGS = ({bugs},)\n")
        elif name == "planted_source":
            node.body = [*node.body[:1], *_statements("return VARIANTS[bug]")]  # its docstring, then the table
            body.append(node)
        elif name == "loss_and_grads":  # `loss_and_grads = _compile(SOURCE)`: a table in the build
            body += _statements("def loss_and_grads(params, X, Y, l2=0.0):\n    pass\n")
        elif node is tree.body[0] and isinstance(node, ast.Expr):  # the module's docstring
            body += _statements(repr(_DOC))
        else:
            body.append(node)
            continue
        done.add(name or "__doc__")
    missing = {"SOURCE", "BUGS", "planted_source", "loss_and_grads", "__doc__"} - done
    if missing:
        raise ValueError(f"backproplab/debugging.py has no {sorted(missing)}: the build's version needs them")
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"


_DOC = """A backward pass with one planted bug (notebook 08's debugging exercise), as a learner build holds it.

:data:`VARIANTS` are the planted backward passes ``loss_and_grads(params, X, Y, l2=0.0)`` of Input → Linear →
ReLU → Linear → softmax → cross-entropy with an L2 penalty, each with one slip of :data:`BUGS`;
:func:`planted_backward` draws one per learner's folder. The correct pass is not part of this build.
"""
