"""nbgrader configuration for Backprop Lab.

Instructors run plain nbgrader commands from this folder (``cd autograder && nbgrader ...``);
``backproplab release`` (``make release``) loads this same file, so both produce the same
learner notebooks. Every path is relative to the repository root, computed from this file,
so the commands work from ``autograder/`` whatever the current directory of the shell was.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import GenerateAssignment

from backproplab.release import TagRaisingCells

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)

ROOT = Path(__file__).resolve().parent.parent

# --- Where things live --------------------------------------------------------------------------
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "backproplab"
c.CourseDirectory.source_directory = "solutions"  # solutions/NN_topic/NN_topic.ipynb (instructor source)
c.CourseDirectory.release_directory = "course"  # course/NN_topic/NN_topic.ipynb (learner notebooks)
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.solution_directory = "autograder/solution"
c.CourseDirectory.source_with_tests_directory = "autograder/source_with_tests"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'autograder' / 'gradebook.db'}"
c.Exchange.root = str(ROOT / "autograder" / "exchange")

# nbgrader runs the `alembic` executable found on PATH when it creates a new gradebook.db; without an
# activated virtual environment that fails and leaves a half-made database behind. Put the bin/ folder
# of the Python running nbgrader first on PATH, so `../.venv/bin/nbgrader ...` works too.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

# --- Learner stubs ------------------------------------------------------------------------------
# The region between "### BEGIN SOLUTION" and "### END SOLUTION" becomes this stub; the region
# between "### BEGIN HIDDEN TESTS" and "### END HIDDEN TESTS" is removed from the learner's copy.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# --- Deterministic learner notebooks ------------------------------------------------------------
# nbgrader already clears outputs and execution counts and keeps nbformat cell ids; on top of that
# drop volatile metadata (execution timings, saved widget state, the Python version in
# language_info) so that course/ only changes when solutions/ does.
c.ClearOutput.remove_metadata_fields = {"collapsed", "scrolled", "execution", "ExecuteTime"}
c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    ClearMetadataPreprocessor,
    TagRaisingCells,  # Jupyter's `raises-exception` tag on the cells that raise on the stub (graded tests)
]
c.ClearMetadataPreprocessor.enabled = True
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {"nbgrader", "deletable", "editable", "tags", "jupyter"}
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {"kernelspec", ("language_info", "name")}

# --- Grading ------------------------------------------------------------------------------------
c.Execute.timeout = 120  # seconds per cell (nbgrader's default is 30)
