"""What gets analysed, and what its outputs are called."""

from __future__ import annotations

from pathlib import Path

from emotion.inputs import find_inputs, image_type, output_names


def test_folders_are_searched_recursively_for_images_and_videos(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    for name in ("a/one.jpg", "a/b/two.MP4", "a/notes.txt", "a/.hidden.png", "out/old.png"):
        (tmp_path / name).write_bytes(b"x")
    found = find_inputs([str(tmp_path / "a"), str(tmp_path / "a" / "one.jpg"),
                         str(tmp_path / "missing.mov")], skip=tmp_path / "out")
    # A folder's own files, then its sub-folders'; a file given twice is analysed once.
    assert [Path(i.given).name for i in found] == ["one.jpg", "two.MP4", "missing.mov"]
    assert found[-1].path is None            # reported, not dropped
    assert [i.name for i in found] == ["one", "two", "missing"]
    # An empty folder is an input of its own, which will fail and say why.
    (tmp_path / "empty").mkdir()
    assert [i.given for i in find_inputs([str(tmp_path / "empty")])] == [str(tmp_path / "empty")]


def test_names_that_would_clash_take_their_path():
    names = output_names([Path("a/x.mp4"), Path("b/x.mp4"), Path("y.jpg"), Path("x.mov")])
    assert names == ["a__x.mp4", "b__x.mp4", "y", "x.mov"]
    assert output_names([Path("x.mp4"), Path("x.mp4")]) == ["x.mp4-1", "x.mp4-2"]


def test_images_are_known_by_their_bytes():
    assert image_type(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBP") == "image/webp"
    assert image_type(b"\x00\x00\x00\x18ftypmp42") is None
