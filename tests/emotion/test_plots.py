"""The pictures: the page's colours, and a picture for every kind of record."""

from __future__ import annotations

import io

from PIL import Image

from emotion.plots import COLORS, input_figure
from emotion.record import Record, iso_utc
from function.model import LABELS
from tests.emotion import page


def test_the_labels_and_colours_are_the_pages(tmp_path):
    shown = page.classes(tmp_path)
    assert shown["labels"] == list(LABELS) and shown["colors"] == COLORS
    # Every label has its colour and its emoji, on the page and in the pictures.
    assert set(COLORS) == set(shown["emoji"]) == set(LABELS)


def test_a_picture_for_a_video_a_photo_and_no_face():
    video, photo = Record("v.mp4", iso_utc(0)), Record("p.jpg", iso_utc(0))
    happy = dict.fromkeys(LABELS, 0.0) | {"Happiness": 0.9, "Neutral": 0.1}
    for i in range(50):
        video.add(i / 10 + (3 if i > 25 else 0), 1, happy, i, main=True)
    photo.add(0, 1, happy, 0)
    photo.add(0, 2, happy, 0)
    for record in (video, photo, Record("e.mp4", iso_utc(0))):
        picture = Image.open(io.BytesIO(input_figure(record, record.source, 10.0)))
        assert picture.format == "PNG" and picture.width >= 900
