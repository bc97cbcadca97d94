"""Folders replaced whole (`benchdata.staging.staged_folders`): all or nothing, nothing left behind."""

from pathlib import Path

import pytest

from benchdata.staging import staged_folders


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_new_folders_replace_the_old_ones_together(tmp_path):
    public, hidden = tmp_path / "public" / "data", tmp_path / "hidden" / "data"
    hidden.mkdir(parents=True)
    (hidden / "old.txt").write_text("old")
    with staged_folders(public, hidden, prefix="test") as (new_public, new_hidden):
        (new_public / "a.txt").write_text("A")
        (new_hidden / "b.txt").write_text("B")
        assert not public.exists() and (hidden / "old.txt").exists()  # nothing visible before the end
    assert _tree(public) == {"a.txt": "A"}
    assert _tree(hidden) == {"b.txt": "B"}
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == ["data"]
    assert sorted(p.name for p in (tmp_path / "hidden").iterdir()) == ["data"]


def test_a_failure_keeps_the_old_folders_and_removes_the_staging_ones(tmp_path):
    final = tmp_path / "data"
    final.mkdir()
    (final / "kept.txt").write_text("kept")
    with pytest.raises(RuntimeError, match="half way"):
        with staged_folders(final, prefix="test") as (stage,):
            (stage / "partial.txt").write_text("partial")
            raise RuntimeError("half way")
    assert _tree(final) == {"kept.txt": "kept"}
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
