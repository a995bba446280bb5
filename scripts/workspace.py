"""Copy the learner notebooks into a personal working folder, never overwriting a file already there.

``make lab`` opens the copy, so that a learner's saved work is never touched by ``make release`` and the
committed ``course/`` stays exactly what the release makes (a test checks that).

    python -m scripts.workspace course my-work
"""

import argparse
import shutil
import sys
from pathlib import Path


def sync(source: Path, dest: Path) -> list[Path]:
    """Copy every file of ``source`` missing from ``dest``; return the files copied."""
    if not source.is_dir():
        raise SystemExit(f"error: {source} is not a folder")
    copied = []
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        if path.is_file() and ".ipynb_checkpoints" not in path.parts and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(target)
    return copied


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    copied = sync(args.source, args.dest)
    if copied:
        print(f"copied {len(copied)} new file(s) from {args.source}/ into {args.dest}/ (your work there is kept)")


if __name__ == "__main__":
    sys.exit(main())
