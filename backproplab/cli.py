"""The ``backproplab`` command: ``backproplab release [ASSIGNMENT ...]`` and ``backproplab grade SUBMISSIONS``.

Each subcommand is added by a function ``add_<name>_parser(subparsers)`` that creates its parser and
sets ``func`` (called with the parsed arguments; returns an exit code or None). Expected problems
(``ValueError``, which includes ``ReleaseError`` and ``BackpropLabError``, and ``OSError``) print one
line to stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backproplab.grading.cli import add_grade_parser
from backproplab.release import CONFIG, DEST, SOURCE


def add_release_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "release",
        help="regenerate course/ (learner notebooks) from solutions/ (nbgrader source)",
        description="Regenerate course/NN_topic/NN_topic.ipynb from solutions/NN_topic/NN_topic.ipynb "
                    "with nbgrader (answers replaced by stubs, hidden tests removed, no outputs).",
    )
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignment folder names such as 01_chain_rule (default: all)")
    parser.add_argument("--source", type=Path, default=SOURCE, help="nbgrader source folder (default: %(default)s)")
    parser.add_argument("--dest", type=Path, default=DEST, help="learner folder to write (default: %(default)s)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="nbgrader config file (default: %(default)s)")
    parser.set_defaults(func=_run_release)


def _run_release(args) -> int:
    from backproplab.release import release

    written = release(args.assignments or None, source=args.source, dest=args.dest, config_file=args.config)
    for path in written:
        print(f"wrote {path}")
    return 0


def add_publish_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="write the repository for the learners of a graded class (no solutions, no graded code)",
        description="Write OUT: the learner notebooks, Binder files, a learner README and a package whose "
                    "graded functions answer from tables computed now (the visible checks still work). No "
                    "solutions, hidden tests, gradebook or grader. See backproplab/publish/__init__.py.",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to create (must not exist or be empty)")
    parser.set_defaults(func=_run_publish)


def _run_publish(args) -> int:
    from backproplab.publish import publish

    files = publish(args.out)
    print(f"wrote {len(files)} files ({sum(files.values()) / 1e6:.1f} MB) to {args.out}")
    return 0


# ---- Subcommands: one line each ----------------------------------------------------------------
SUBCOMMANDS = [
    add_release_parser,
    add_grade_parser,
    add_publish_parser,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backproplab", description="Backprop Lab course tools.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, OSError) as exc:
        message = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        print(f"backproplab {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
