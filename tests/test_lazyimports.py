"""backproplab.lazyimports: nbformat imported after backproplab does not build rfc3987-syntax's parsers (1 s of
CPU in every grading process), and a schema that uses the ``iri`` format is still checked by the real parser."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import backproplab, nbformat, jsonschema
print("lark" in sys.modules)
nbformat.validate(nbformat.v4.new_notebook())
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
v = jsonschema.Draft7Validator({"format": "iri"}, format_checker=checker)
print(v.is_valid("https://example.org/\\u00fcber"), v.is_valid("no scheme here"), "lark" in sys.modules)
"""


def test_nbformat_after_backproplab_builds_no_iri_parser_until_a_schema_asks():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False", "True"], out
