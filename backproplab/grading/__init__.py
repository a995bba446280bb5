"""Batch grading: ``backproplab grade SUBMISSIONS`` from an LMS export to grades, feedback and reports.

=================  ==================================================================================
module             holds
=================  ==================================================================================
``cli``            ``add_grade_parser(subparsers)`` for ``backproplab grade``; ``main`` for
                   ``python -m backproplab.grading``
``pipeline``       ``grade(...)``: release, import, parallel grading, reports, in that order
``course``         the course root, its nbgrader config, recording assignments in the gradebook,
                   release data (``AssignmentInfo``) read from the gradebook
``importer``       LMS exports (Canvas, Moodle, folders, flat files) to ``autograder/submitted/``
``exportfiles``    reading an export: its files, which notebook each is, whose it is
``roster``         the optional class list CSV and how file names are matched to it
``notebooks``      reading submissions robustly (``Unreadable`` with a one-line reason)
``protocol``       the typed messages between the parent and the workers (tasks, results)
``steps``          THE path that grades one notebook: ``grade_notebook(task)``, its declared ``STEPS``
                   (read, sanitize, assemble, run confined, judge, write); ``judge`` is the only place
                   where what learner code produced becomes points
``sanitize``       the submission made fit to run against the release (nbgrader's preprocessors)
``deviations``     one note per way a submission differs from its release
``feedback``       the last step: the feedback page, with nothing a learner may not see
``feedback_html``  nbgrader's feedback template, rendered fast and sanitized
``shipping``       what travels with a task (files, seeds, budgets) and back (autograded notebooks):
                   workers need the environment, never the course folder
``worker``         a worker process: grading tasks through ``steps``, feedback pages
``metadata``       nbgrader's cell-metadata checks, each schema compiled once
``parallel``       the Dask executor (a local cluster or --cluster); the parent is the only gradebook writer
``gradebook``      the parent's writes and reads of ``gradebook.db`` (nbgrader's ``Gradebook`` API)
``state``          resume state: what was graded from which copy
``report``         grades.csv, exercises.csv, mapping.csv, report.txt, histogram.png, the summary
``progress``       a progress bar with the time left
=================  ==================================================================================
"""


def grade(*args, **kwargs):
    """See :func:`backproplab.grading.pipeline.grade`."""
    from .pipeline import grade as _grade

    return _grade(*args, **kwargs)


__all__ = ["grade"]
