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

__all__ = ["install", "validate"]

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
