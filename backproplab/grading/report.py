"""What the instructor gets: grades.csv, exercises.csv, mapping.csv, report.txt, histogram.png and a summary.

``grades.csv`` has the columns of ``nbgrader export`` (one row per student and assignment, 0 for a
missing submission), quoted properly. The summary gives each graded cell's pass rate (full points among
the students who submitted that assignment) and a histogram of the students' total scores.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from pathlib import Path

BINS = 10


@dataclass
class Row:
    student_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    assignment: str
    duedate: object
    scores: dict  # gradebook.scores()


@dataclass
class Report:
    rows: list[Row]
    notes: list[tuple[str, str, str]]
    mapping: list[dict]
    cells: dict[str, list[tuple[str, str, float]]]  # assignment -> [(notebook, grade id, points)]
    header: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------------------------- numbers
    def totals(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, list[float]] = {}
        for row in self.rows:
            t = totals.setdefault(row.student_id, [0.0, 0.0])
            t[0] += row.scores["score"]
            t[1] += row.scores["max_score"]
        return {s: (a, b) for s, (a, b) in sorted(totals.items())}

    def percents(self) -> list[float]:
        return [100.0 * a / b if b else 0.0 for a, b in self.totals().values()]

    def histogram(self) -> list[int]:
        counts = [0] * BINS
        for p in self.percents():
            counts[min(BINS - 1, int(p // (100 / BINS)))] += 1
        return counts

    def pass_rates(self) -> list[tuple[str, str, str, float, int, int]]:
        """``(assignment, notebook, cell, points, passed, submitted)`` per graded cell."""
        out = []
        for assignment, cells in sorted(self.cells.items()):
            rows = [r for r in self.rows if r.assignment == assignment and r.scores["submitted"]]
            for notebook, gid, points in cells:
                passed = sum(1 for r in rows
                             if (s := r.scores["cells"].get((notebook, gid))) and s[1] > 0 and s[0] >= s[1])
                out.append((assignment, notebook, gid, points, passed, len(rows)))
        return out

    # ---------------------------------------------------------------------------------- text
    def note_lines(self) -> list[str]:
        width = max([len(s) for s, _, _ in self.notes] + [10])
        awidth = max([len(a) for _, a, _ in self.notes] + [10])
        return [f"{s:<{width}}  {a or '-':<{awidth}}  {m}" for s, a, m in sorted(self.notes)]

    def summary(self) -> str:
        lines = list(self.header)
        students = self.totals()
        missing: dict[str, int] = {}
        for row in self.rows:
            if not row.scores["submitted"]:
                missing[row.assignment] = missing.get(row.assignment, 0) + 1
        lines.append("")
        lines.append("Pass rate per exercise (full points, among the students who submitted):")
        rates = self.pass_rates()
        cw = max([len(f"{a}/{g}") for a, _, g, _, _, _ in rates] + [8])
        for assignment, _notebook, gid, points, passed, submitted in rates:
            frac = passed / submitted if submitted else 0.0
            bar = "#" * int(round(frac * 20))
            lines.append(f"  {assignment + '/' + gid:<{cw}}  {points:>4g} pts  {passed:>3}/{submitted:<3} "
                         f"{frac:>4.0%}  {bar}")
        for assignment, n in sorted(missing.items()):
            lines.append(f"  {assignment}: {n} student(s) submitted nothing")
        total_max = max((b for _, b in students.values()), default=0.0)
        lines.append("")
        lines.append(f"Total scores ({len(students)} students, % of {total_max:g} points):")
        counts = self.histogram()
        peak = max(counts + [1])
        for i, count in enumerate(counts):
            lo, hi = i * 100 // BINS, (i + 1) * 100 // BINS
            label = f"{lo:>3}-{hi}%"
            lines.append(f"  {label:>8} | {'#' * int(round(30 * count / peak)):<30} {count}")
        pct = self.percents()
        if pct:
            lines.append(f"  mean {statistics.mean(pct):.1f}%, median {statistics.median(pct):.1f}%")
        return "\n".join(lines)

    # ---------------------------------------------------------------------------------- files
    def write_grades_csv(self, path: Path) -> None:
        keys = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                "raw_score", "late_submission_penalty", "score", "max_score"]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(keys)
            for row in sorted(self.rows, key=lambda r: (r.assignment, r.student_id)):
                s = row.scores
                values = [row.assignment, row.duedate, s["timestamp"], row.student_id, row.last_name,
                          row.first_name, row.email, s["raw_score"], s["penalty"], s["score"], s["max_score"]]
                writer.writerow(["" if v is None else str(v) for v in values])

    def write_exercises_csv(self, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["student_id", "assignment", "notebook", "cell", "score", "max_score", "submitted"])
            for row in sorted(self.rows, key=lambda r: (r.student_id, r.assignment)):
                for notebook, gid, points in self.cells.get(row.assignment, []):
                    score, top = row.scores["cells"].get((notebook, gid), (0.0, points))
                    writer.writerow([row.student_id, row.assignment, notebook, gid, score, top,
                                     "yes" if row.scores["submitted"] else "no"])

    def write_mapping_csv(self, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, ["file", "student_id", "assignment", "how"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(sorted(self.mapping, key=lambda r: r["file"]))

    def write_text(self, path: Path) -> None:
        notes = self.note_lines()
        body = [self.summary(), "", f"Problems and decisions ({len(notes)}):"]
        body += ["  " + line for line in notes] or ["  none"]
        Path(path).write_text("\n".join(body) + "\n", encoding="utf-8")

    def write_png(self, path: Path) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        rates = self.pass_rates()
        fig = Figure(figsize=(10, 4 + 0.18 * len(rates)), layout="constrained")
        FigureCanvasAgg(fig)
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.3])
        counts = self.histogram()
        ax1.bar([i * 100 / BINS + 50 / BINS for i in range(BINS)], counts, width=100 / BINS * 0.9,
                color="#4C72B0")
        ax1.set_xlim(0, 100)
        ax1.set_xlabel("total score (%)")
        ax1.set_ylabel("students")
        ax1.set_title(f"Scores of {len(self.totals())} students")
        labels = [f"{a}/{g}" for a, _, g, _, _, _ in rates]
        values = [100 * p / s if s else 0 for _, _, _, _, p, s in rates]
        ax2.barh(range(len(rates)), values, color="#55A868")
        ax2.set_yticks(range(len(rates)), labels, fontsize=7)
        ax2.invert_yaxis()
        ax2.set_xlim(0, 100)
        ax2.set_xlabel("pass rate (%)")
        ax2.set_title("Pass rate per exercise")
        fig.savefig(path, dpi=100)
