"""Bytes that travel per grading task (issue 17: workers share no file system with the coordinator).

For every course notebook in ``solutions/``, a one-student task whose submission is the solution, packed as
``backproplab grade`` packs it (:func:`backproplab.grading.shipping.pack`), graded in this process by the
worker's own function, and its feedback task: the files the task carries, and each message as Dask pickles
it (the grading task, its result with the autograded notebook, the feedback task and the rendered pages).

    python -m scripts.task_bytes
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure() -> list[dict]:
    """One row per course notebook: its name and the bytes of each message."""
    from backproplab.grading import shipping, worker
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from backproplab.grading.protocol import FeedbackNotebook, FeedbackTask
    from backproplab.sandbox import load_secret
    from tests.grading.classbuilder import dumps, make_course, real_assignments, solution

    names = real_assignments()
    tmp = Path(tempfile.mkdtemp(prefix="task-bytes-"))
    root = make_course(tmp, real=names)
    course = load_course(root)
    register_assignments(course, names)
    secret = load_secret(root / "autograder" / "grading_secret")
    worker.init_worker(course.config)
    rows = []
    gb = course.gradebook()
    try:
        for name in names:
            info = read_assignment_info(course, gb, name)
            submitted = tmp / "submitted" / f"{name}.ipynb"
            submitted.parent.mkdir(exist_ok=True)
            submitted.write_bytes(dumps(solution(root, name)))
            task = shipping.pack(course, secret, student="s", assignment=name, info=info, files={name: submitted},
                                 checksum="-", accepted=[], strict_scan=False)
            result = worker.grade_task(task)
            text = result.notebooks[name].notebook
            feedback = FeedbackTask("s", name, "-", {name: FeedbackNotebook(
                None, [], {}, 0.0, info.max_score, 0.0, notebook=text)})
            pages = worker.render_feedback(feedback)
            rows.append({"notebook": name, "files": task.size(), "task": len(pickle.dumps(task, protocol=5)),
                         "result": len(pickle.dumps(result, protocol=5)),
                         "feedback": len(pickle.dumps(feedback, protocol=5)),
                         "pages": len(pickle.dumps(pages, protocol=5)),
                         "points": sum(nb.grades[g] or 0 for nb in result.notebooks.values() for g in nb.grades)})
    finally:
        gb.close()
    return rows


def main() -> None:
    rows = measure()
    print(f"{'notebook':<26}{'files':>9}{'task':>9}{'result':>9}{'feedback':>10}{'pages':>9}   (bytes)")
    for r in rows:
        print(f"{r['notebook']:<26}{r['files']:>9}{r['task']:>9}{r['result']:>9}{r['feedback']:>10}{r['pages']:>9}"
              f"   graded {r['points']:g} points")
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("files", "task", "result", "feedback", "pages")}
    print(f"{'mean':<26}" + "".join(f"{mean[k]:>9.0f}" if k != "feedback" else f"{mean[k]:>10.0f}"
                                    for k in ("files", "task", "result", "feedback", "pages")))


if __name__ == "__main__":
    main()
