"""The similarity report (copydetect over the answer cells, the released stubs as boilerplate).

On the synthetic class of ``similarity_class.py`` (eight independent students, a copier, a paster of the
package's source): exactly the copy and the paste are flagged; naturally identical one-line answers are not.
Then ``backproplab grade --similarity`` end to end on a real notebook.
"""

from __future__ import annotations

import csv

import nbformat
import pytest

from backproplab.grading.similarity import (
    SOURCE_NAME,
    THRESHOLD,
    answer_cells,
    compare,
    defined_functions,
    package_functions,
)
from tests.grading.classbuilder import REPO, blank, cell, dumps, make_course, write_zip
from tests.grading.similarity_class import NOTEBOOK, synthetic_class
from tests.grading.test_grade import run_grade

COPIES = {("copier", "s1"), (SOURCE_NAME, "paster")}


def _stubs():
    return answer_cells(nbformat.read(REPO / "course" / NOTEBOOK / f"{NOTEBOOK}.ipynb", as_version=4))


def _reference(stubs):
    functions = package_functions()
    found = {gid: "\n\n".join(functions[n] for n in defined_functions(src) if n in functions)
             for gid, src in stubs.items()}
    return {gid: src for gid, src in found.items() if src}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    stubs = _stubs()
    out = tmp_path_factory.mktemp("similarity")
    return compare(synthetic_class(stubs), stubs, reference=_reference(stubs), out_dir=out), out


def test_the_copy_and_the_paste_are_flagged_and_nothing_else(synthetic):
    result, _ = synthetic
    flagged = {(p.a, p.b) for p in result.flagged}
    assert flagged == COPIES
    assert {(p.a, p.b) for p in result.pairs[:2]} == COPIES  # ranked first
    people = 11  # s0..s7, copier, paster, the package's source
    assert len(result.pairs) == people * (people - 1) // 2
    copy = next(p for p in result.pairs if (p.a, p.b) == ("copier", "s1"))
    assert copy.score > 0.8 and copy.cells["ex-two-layer-backward"] > 0.8  # renamed, reordered, re-commented
    paste = next(p for p in result.pairs if (p.a, p.b) == (SOURCE_NAME, "paster"))
    assert paste.score > 0.9
    rest = [p.score for p in result.pairs if (p.a, p.b) not in COPIES]
    assert max(rest) < THRESHOLD - 0.15, max(rest)  # a clear margin, not a coin toss


def test_naturally_identical_one_line_answers_are_not_evidence():
    """Two students (in a class of two: nothing is common knowledge by count) whose one-line answers are the
    ones everybody writes (``dZ @ W.T``), and whose one longer answer differs."""
    stubs = _stubs()
    from tests.grading.similarity_class import DENSE, RELU, TWO_LAYER, fill

    one_line = {"ex-dense-backward": fill(stubs["ex-dense-backward"], DENSE[1]),
                "ex-relu-backward": fill(stubs["ex-relu-backward"], RELU[0]),
                "ex-relative-error": fill(stubs["ex-relative-error"], "return float(np.linalg.norm(a - b) / "
                                          "(np.linalg.norm(a) + np.linalg.norm(b) or 1.0))")}
    ann = {**one_line, "ex-two-layer-backward": fill(stubs["ex-two-layer-backward"], TWO_LAYER[2])}
    ben = {**one_line, "ex-two-layer-backward": fill(stubs["ex-two-layer-backward"], TWO_LAYER[3])}
    (pair,) = compare({"ann": ann, "ben": ben}, stubs).pairs
    assert not pair.flagged and pair.score < 0.2, pair
    # the same two, had ben copied ann's longer answer, are flagged
    (pair,) = compare({"ann": ann, "ben": {**ben, "ex-two-layer-backward": ann["ex-two-layer-backward"]}},
                      stubs).pairs
    assert pair.flagged, pair


def test_the_html_report_shows_the_matches_side_by_side(synthetic):
    _, out = synthetic
    html = (out / "report.html").read_text()
    assert "copier/ex-two-layer-backward.py" in html and "s1/ex-two-layer-backward.py" in html
    assert "paster/ex-dense-backward.py" in html
    assert "highlight-red" in html and "highlight-green" in html  # the two sides, matching code marked
    assert "g_pred" in html and "d_out" in html  # the copier's renamed code next to the original


def test_grade_with_similarity_writes_the_report_and_a_line_per_flagged_pair(tmp_path):
    root = make_course(tmp_path, [NOTEBOOK])
    stubs = answer_cells(blank(root, NOTEBOOK))
    answers = synthetic_class(stubs)
    files = {}
    for sid in ("s0", "s1", "s2", "copier", "paster"):
        nb = blank(root, NOTEBOOK)
        for gid, source in answers[sid].items():
            cell(nb, gid).source = source
        files[f"{sid}/{NOTEBOOK}.ipynb"] = dumps(nb)
    export = write_zip(tmp_path / "export.zip", files)
    out = tmp_path / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out, "--no-release", "--similarity")
    assert rc == 0, text
    lines = [line for line in (out / "report.txt").read_text().splitlines() if "similar answers" in line]
    assert len(lines) == 2, lines
    assert any(line.split()[0] == "copier" and "matches s1" in line for line in lines), lines
    assert any(line.split()[0] == "paster" and "the package's own source" in line for line in lines), lines
    rows = list(csv.DictReader(open(out / "similarity" / NOTEBOOK / "pairs.csv")))
    assert {(r["student_a"], r["student_b"]) for r in rows if r["flagged"] == "yes"} == COPIES
    assert [r["flagged"] for r in rows[:2]] == ["yes", "yes"]  # ranked first
    assert (out / "similarity" / NOTEBOOK / "report.html").is_file()
