"""``python -m tests.publish.build_once FOLDER``: publish the learner build into ``FOLDER/learners`` for the
test run (:mod:`tests.publish.conftest` starts it in the background); ``FOLDER/done.json`` lists its files when
it is complete, ``FOLDER/failed`` holds the traceback when it is not."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(folder: Path) -> int:
    try:
        from backproplab.publish import publish

        files = publish(folder / "learners")
    except BaseException:  # noqa: BLE001  (whatever stopped it is the test's failure message)
        (folder / "failed").write_text(traceback.format_exc(), encoding="utf-8")
        return 1
    (folder / "done.json.part").write_text(json.dumps(files), encoding="utf-8")
    (folder / "done.json.part").rename(folder / "done.json")  # whole or absent
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
