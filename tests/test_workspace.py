"""`make lab` works in a copy of course/ that never overwrites a learner's saved work."""

from scripts.workspace import sync


def test_sync_copies_missing_files_and_keeps_existing_ones(tmp_path):
    src, dst = tmp_path / "course", tmp_path / "my-work"
    (src / "01_a").mkdir(parents=True)
    (src / "01_a" / "01_a.ipynb").write_text("release v1")
    (src / "02_b").mkdir()
    (src / "02_b" / "02_b.ipynb").write_text("release v1")
    assert len(sync(src, dst)) == 2
    (dst / "01_a" / "01_a.ipynb").write_text("my answers")
    (src / "01_a" / "01_a.ipynb").write_text("release v2")
    (src / "03_c").mkdir()
    (src / "03_c" / "03_c.ipynb").write_text("new notebook")
    assert sync(src, dst) == [dst / "03_c" / "03_c.ipynb"]
    assert (dst / "01_a" / "01_a.ipynb").read_text() == "my answers"
