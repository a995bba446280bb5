"""Imports deferred until first use: :func:`defer_iri_syntax`.

nbformat validates notebooks with jsonschema, whose format checker imports ``rfc3987_syntax`` (when it is
installed, as ``jsonschema[format-nongpl]`` installs it) to check the ``iri`` and ``iri-reference`` formats, and
``rfc3987_syntax`` builds about 35 Earley parsers when it is imported: 1.0 s of CPU time in every process that
imports nbformat (the grader, each grading worker, each test process), for formats no notebook schema uses
(python-jsonschema/jsonschema#1428, opendatahub-io/notebooks#3532). :func:`defer_iri_syntax` puts a stand-in in
its place whose ``is_valid_syntax`` imports the real module at its first call: a schema that uses the formats is
still checked, by the real parser.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_NAME = "rfc3987_syntax"


def defer_iri_syntax() -> None:
    """Defer ``rfc3987_syntax``'s import to its first use (nothing to do if it is imported or not installed)."""
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return
    stand_in = types.ModuleType(_NAME, "Stand-in until first use (backproplab.lazyimports).")
    real: list = []

    def is_valid_syntax(term: str, value: str) -> bool:
        if not real:
            if sys.modules.get(_NAME) is stand_in:
                del sys.modules[_NAME]
            real.append(importlib.import_module(_NAME))
        return real[0].is_valid_syntax(term, value)

    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[_NAME] = stand_in
