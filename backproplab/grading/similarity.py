"""Similarity of the learners' answer cells: who copied from whom, and who pasted the package's source.

``backproplab grade EXPORT --similarity`` compares, per assignment, every pair of students' answer cells
(nbgrader ``solution`` cells) with copydetect (winnowed fingerprints of the token stream with every
identifier, string and comment normalised, so renamed variables, changed comments and reordered functions
do not hide a copy). The released stubs are boilerplate (their fingerprints never count), and so is code
that a large part of the class wrote identically (MOSS's ``-m``), and an answer of fewer than
:data:`MIN_LINES` lines of the learner's own is left out: naturally identical one-line answers
(``return dZ @ W.T, X.T @ dZ, ...``) are not evidence. Each answer cell is compared only with the same cell of the other
notebook, and with the function of the same name in the ``backproplab`` package (the public source).

A pair's score: the matched share of the smaller of the two sets of fingerprinted answer code, over the
whole notebook. A pair is flagged when the score is at least ``threshold`` and the matched code is at least
``min_chars`` characters of normalised tokens. Written to ``reports/similarity/ASSIGNMENT/``:
``report.html`` (copydetect's report: each flagged answer pair side by side, matching code highlighted),
``pairs.csv`` (every pair, ranked), and one line per flagged pair in ``report.txt``.

Why copydetect: maintained (0.5, 2024), pure Python (pygments, numpy), an API that takes files one by one
and gives the token overlap and the matching slices, and an HTML report that shows the matches side by
side; MOSS and JPlag need a server or a JVM, pycode-similar has no report and no release since 2020.
"""

from __future__ import annotations

import ast
import csv
import itertools
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_NAME = "backproplab-source"  # the "student" that stands for the package's own code
THRESHOLD = 0.6
MIN_CHARS = 60
MIN_LINES = 3  # an answer of fewer lines of its own (``return dZ @ W.T``) is never evidence
NOISE = 25  # copydetect's k: characters of normalised tokens per fingerprint


@dataclass
class Pair:
    a: str
    b: str
    score: float
    matched: int  # characters of normalised code matched (the larger side)
    cells: dict[str, float] = field(default_factory=dict)  # answer cell -> similarity in it
    flagged: bool = False


@dataclass
class Result:
    assignment: str
    pairs: list[Pair]
    html: Path | None

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]


def answer_cells(nb) -> dict[str, str]:
    """``{grade_id: source}`` of the notebook's code answer cells (nbgrader ``solution`` cells)."""
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and c.metadata["nbgrader"].get("grade_id")}


def package_functions(package: Path = PACKAGE) -> dict[str, str]:
    """Source of every top-level function of the package, by name (the first definition wins)."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in found:
                found[node.name] = ast.get_source_segment(text, node) or ""
    return found


def own_lines(answer: str, stub: str) -> int:
    """Lines of code the learner wrote: not in the stub, neither blank nor comments."""
    left = Counter(line.strip() for line in stub.splitlines())
    count = 0
    for line in answer.splitlines():
        text = line.strip()
        if left[text] > 0:
            left[text] -= 1
        elif text and not text.startswith("#"):
            count += 1
    return count


def defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def compare(answers: dict[str, dict[str, str]], stubs: dict[str, str], *, reference: dict[str, str] | None = None,
            out_dir: Path | None = None, assignment: str = "", threshold: float = THRESHOLD,
            min_chars: int = MIN_CHARS, common: float = 0.3) -> Result:
    """Compare ``answers`` (student -> {cell: source}) with copydetect; see the module docstring.

    ``stubs`` ({cell: released source}) are boilerplate; ``reference`` ({cell: package source}) takes part
    as one more student named :data:`SOURCE_NAME`; an answer written identically (after normalisation) by at
    least ``common`` of the students (and at least 3) is boilerplate too. ``out_dir`` gets ``report.html``.
    """
    try:
        from copydetect import CopyDetector
        from copydetect.utils import filter_code
    except ImportError as exc:
        raise ValueError("the similarity report needs copydetect: pip install 'copydetect>=0.5,<0.6' "
                         "(it comes with the course's dev extra)") from exc

    people = dict(answers)
    if reference:
        people[SOURCE_NAME] = reference
    with tempfile.TemporaryDirectory(prefix="similarity-") as tmp:
        work = Path(tmp)
        files: dict[tuple[str, str], str] = {}
        for person, cells in people.items():
            for gid, source in cells.items():
                if own_lines(source, stubs.get(gid, "")) >= MIN_LINES:
                    path = work / "answers" / person / f"{gid}.py"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(source, encoding="utf-8")
                    files[(person, gid)] = str(path)
        boiler = []
        for gid, source in stubs.items():
            path = work / "stubs" / f"{gid}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source, encoding="utf-8")
            boiler.append(path)
        # answers that many students wrote identically (after normalisation) are common knowledge
        students = [p for p in answers]
        for gid in stubs:
            forms = Counter(filter_code(answers[s][gid], "x.py")[0] for s in students if (s, gid) in files)
            for n, (form, count) in enumerate(forms.most_common()):
                if count >= max(3, common * len(students)):
                    example = next(answers[s][gid] for s in students if (s, gid) in files
                                   and filter_code(answers[s][gid], "x.py")[0] == form)
                    path = work / "common" / f"{n}" / f"{gid}.py"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(example, encoding="utf-8")
                    boiler.append(path)
        report = Path(out_dir) / "report.html" if out_dir else work / "report.html"
        report.parent.mkdir(parents=True, exist_ok=True)
        detector = CopyDetector(noise_t=NOISE, guarantee_t=NOISE, display_t=threshold, same_name_only=True,
                                autoopen=False, silent=True, out_file=str(report))
        for (person, _gid), path in files.items():
            detector.add_file(path, "ref" if person == SOURCE_NAME else "testref")
        for path in boiler:
            detector.add_file(str(path), "boilerplate")
        pairs = _pairs(detector, files, list(people), threshold, min_chars) if files else []
        html = None
        if out_dir is not None and any(p.flagged for p in pairs):
            detector.generate_html_report()
            _relabel(report, work)
            html = report
    return Result(assignment, pairs, html)


def _pairs(detector, files, people, threshold, min_chars) -> list[Pair]:
    import numpy as np

    detector.run()
    where = {path: key for key, path in files.items()}
    tests = {p: i for i, p in enumerate(detector.test_files)}
    refs = {p: j for j, p in enumerate(detector.ref_files)}
    totals: dict[tuple[str, str], list] = {}
    for path_a, i in tests.items():
        person_a, gid = where[path_a]
        for path_b, j in refs.items():
            person_b, gid_b = where[path_b]
            if gid_b != gid or person_b == person_a:
                continue
            key = tuple(sorted((person_a, person_b)))
            if key in totals and gid in totals[key][3]:
                continue
            overlap = int(detector.token_overlap_matrix[i, j])
            cover_a = detector.file_data[path_a].token_coverage
            cover_b = detector.file_data[path_b].token_coverage
            t = totals.setdefault(key, [0, 0, 0, {}])
            t[0] += max(overlap, 0)
            first = key[0] == person_a
            t[1] += cover_a if first else cover_b
            t[2] += cover_b if first else cover_a
            sims = detector.similarity_matrix[i, j]
            t[3][gid] = float(np.max(sims)) if overlap > 0 else 0.0
    pairs = []
    for a, b in itertools.combinations(sorted(people), 2):
        overlap, cover_a, cover_b, cells = totals.get((a, b), (0, 0, 0, {}))
        smaller = min(cover_a, cover_b)
        score = overlap / smaller if smaller else 0.0
        pair = Pair(a, b, min(score, 1.0), overlap, cells)
        pair.flagged = pair.score >= threshold and overlap >= min_chars
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, -p.matched, p.a, p.b))
    return pairs


def _relabel(report: Path, work: Path) -> None:
    """copydetect names files by their temporary path: show ``student/cell.py`` instead."""
    text = report.read_text(encoding="utf-8")
    text = text.replace(str(work / "answers") + "/", "")
    report.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------------- the course
def class_answers(course, assignment: str, students: list[str]) -> tuple[dict, dict, dict]:
    """Answers of each student who submitted, the release's stubs and the package's functions, per answer
    cell (``notebook/grade_id`` when the assignment has several notebooks)."""
    import nbformat

    release = course.path("release", ".", assignment)
    notebooks = sorted(release.glob("*.ipynb"))
    several = len(notebooks) > 1
    key = (lambda nb, gid: f"{nb}__{gid}") if several else (lambda nb, gid: gid)
    stubs, reference, answers = {}, {}, {}
    functions = package_functions()
    for path in notebooks:
        for gid, source in answer_cells(nbformat.read(path, as_version=4)).items():
            stubs[key(path.stem, gid)] = source
            names = [n for n in defined_functions(source) if n in functions]
            if names:
                reference[key(path.stem, gid)] = "\n\n".join(functions[n] for n in names)
    for sid in students:
        folder = course.path("submitted", sid, assignment)
        cells = {}
        for path in notebooks:
            sub = folder / path.name
            if sub.is_file():
                try:
                    nb = nbformat.read(sub, as_version=4)
                except Exception:  # unreadable notebooks are reported by the grader
                    continue
                cells.update({key(path.stem, gid): src for gid, src in answer_cells(nb).items()})
        if cells:
            answers[sid] = cells
    return answers, stubs, reference


def write_reports(report, course, out_dir: Path, enabled: bool) -> dict[str, Path]:
    """The grading pipeline's hook: per assignment, the similarity report; a line per flagged pair in
    ``report.notes`` (so in report.txt)."""
    if not enabled:
        return {}
    written = {}
    for assignment in sorted({r.assignment for r in report.rows}):
        students = sorted({r.student_id for r in report.rows if r.assignment == assignment
                           and r.scores["submitted"]})
        answers, stubs, reference = class_answers(course, assignment, students)
        folder = Path(out_dir) / "similarity" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        result = compare(answers, stubs, reference=reference, out_dir=folder, assignment=assignment)
        write_pairs_csv(result, folder / "pairs.csv")
        written[f"similarity {assignment}"] = folder / "pairs.csv"
        for p in result.flagged:
            who, other = (p.b, p.a) if p.a == SOURCE_NAME else (p.a, p.b)
            other = "the package's own source (backproplab)" if other == SOURCE_NAME else other
            report.notes.append((who, assignment, f"similar answers: {p.score:.0%} of the answer code matches "
                                                  f"{other} (cells {', '.join(_top(p))}); see "
                                                  f"similarity/{assignment}/report.html"))
    return written


def _top(pair: Pair) -> list[str]:
    return [gid for gid, sim in sorted(pair.cells.items(), key=lambda kv: -kv[1]) if sim > 0][:4] or ["-"]


def write_pairs_csv(result: Result, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["rank", "student_a", "student_b", "score", "matched_chars", "flagged", "cells"])
        for rank, p in enumerate(result.pairs, start=1):
            writer.writerow([rank, p.a, p.b, f"{p.score:.3f}", p.matched, "yes" if p.flagged else "no",
                             " ".join(f"{g}={s:.2f}" for g, s in sorted(p.cells.items()))])
