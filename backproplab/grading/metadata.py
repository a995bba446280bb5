"""nbgrader's cell-metadata validation with each JSON schema checked and compiled once, not once a cell.

``nbgrader.nbgraderformat.common.BaseMetadataValidator.validate_cell`` calls ``jsonschema.validate(metadata,
schema)`` for every cell, and ``jsonschema.validate`` checks the schema itself and builds a validator on every
call: about 1 ms a cell, 30-40 ms per course notebook, paid two or three times per submission (nbgrader's
``CheckCellMetadata`` before and after the run, and the repair of damaged metadata). :func:`install` gives that
module a ``jsonschema.validate`` that keeps the validator of each schema object it has seen and raises exactly
what ``jsonschema.validate`` raises (the ``best_match`` of the same errors). Grading workers install it;
``tests/grading/test_metadata.py`` checks that both accept and reject the same metadata with the same message.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

__all__ = ["install", "install_output_validation", "validate"]

_CACHE: dict[int, tuple[dict, object]] = {}
_CHECKED: dict[str, object] = {}  # a schema's content (JSON) -> its validator


def validate(instance, schema) -> None:
    """``jsonschema.validate(instance, schema)``, with the validator of ``schema`` kept for the next call."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    kept = _CACHE.get(id(schema))
    if kept is None or kept[0] is not schema:
        if len(_CACHE) > 32:
            _CACHE.clear()
            _CHECKED.clear()
        # nbgrader loads its schema again for each validator it makes (three or four per notebook): a schema
        # of the same content is checked and compiled once
        content = json.dumps(schema, sort_keys=True, default=repr)
        validator = _CHECKED.get(content)
        if validator is None:
            cls = validator_for(schema)
            cls.check_schema(schema)
            validator = _CHECKED[content] = cls(json.loads(content))
        kept = _CACHE[id(schema)] = (schema, validator)
    error = best_match(kept[1].iter_errors(instance))
    if error is not None:
        raise error


def install() -> None:
    """Make nbgrader's metadata validator use :func:`validate` (idempotent)."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    if getattr(common.jsonschema, "validate", None) is validate:
        return
    common.jsonschema = SimpleNamespace(validate=validate, ValidationError=jsonschema.ValidationError)


# ------------------------------------------------------------------------------- the kernel's outputs
#: ref -> fastjsonschema's compiled check of that definition of the notebook schema (None: not compiled)
_OUTPUT_CHECKS: dict[str, object] = {}


def _output_check(ref):
    """fastjsonschema's check of the definition ``ref`` of nbformat's current v4 schema (the schema nbformat
    validates whole notebooks with, with the same backend), or None."""
    if ref not in _OUTPUT_CHECKS:
        check = None
        try:
            import fastjsonschema
            from nbformat import v4
            from nbformat.validator import _get_schema_json

            schema = _get_schema_json(v4, version=4, version_minor=v4.nbformat_minor)
            if isinstance(ref, str) and ref in schema.get("definitions", {}):
                check = fastjsonschema.compile({"$schema": schema.get("$schema"), "$ref": f"#/definitions/{ref}",
                                                "definitions": schema["definitions"]})
        except Exception:  # noqa: BLE001 (no fast check: nbformat's own validation, as before)
            check = None
        _OUTPUT_CHECKS[ref] = check
    return _OUTPUT_CHECKS[ref]


def install_output_validation() -> None:
    """nbformat validates every output nbclient makes from a kernel message (``new_output``) with jsonschema (an
    output validated against a part of the schema never uses nbformat's faster backend): about 0.4 ms an output.
    Make such a validation pass at once when fastjsonschema, nbformat's own backend for whole notebooks, accepts
    the output against the same definition; anything it rejects goes through nbformat's validation as before,
    which raises the same error (idempotent)."""
    from nbformat.v4 import nbbase

    if getattr(nbbase.validate, "_backproplab_fast", False):
        return
    original = nbbase.validate

    def validate(node, ref=None):
        check = _output_check(ref)
        if check is not None:
            try:
                check(node)
                return None
            except Exception:  # noqa: BLE001 (rejected: nbformat says why)
                pass
        return original(node, ref=ref)

    validate._backproplab_fast = True
    validate.__doc__ = original.__doc__
    nbbase.validate = validate
