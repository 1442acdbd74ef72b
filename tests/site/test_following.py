"""Following a video: the page's detector searches most frames only in a window around the
faces it found in the frame before (site/detector-worker.js, blazeface.js's searchWindow),
and the whole frame every WHOLE_EVERY frames and after it missed a face. So a face that
enters the picture is found within WHOLE_EVERY frames, one that leaves is let go of, and
the faces it follows keep about the boxes and eyes a whole search gives them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from benchmarks.page import whole_every
from tests.site.test_blazeface import png_url
from tools import scenes

WHOLE_EVERY = whole_every()

# Each frame through two detectors of the page: one following the video as the page's
# tracker does, one searching every frame whole; and where the following one searched.
FOLLOW = """async (frames) => {
    const { loadDetector } = await import('/detector.js');
    const following = await loadDetector();
    const whole = await loadDetector();
    const out = [];
    for (const url of frames) {
        const image = new Image();
        image.src = url;
        await image.decode();
        const mine = await following.detect(await createImageBitmap(image), { follow: true });
        const windowed = following.searched !== null;
        const theirs = await whole.detect(await createImageBitmap(image));
        out.push({ mine, theirs, windowed });
    }
    following.close();
    whole.close();
    return out;
}"""


def head(width: int) -> Image.Image:
    """The astronaut's head, her face `width` px wide."""
    from skimage import data

    x, y, w, h = scenes.ASTRONAUT_FACE
    k = width / w
    crop = Image.fromarray(data.astronaut()).crop((x - 45, y - 50, x + w + 45, y + h + 70))
    return crop.resize((round(crop.width * k), round(crop.height * k)), Image.LANCZOS)


def video(frames: int, second: range, widths=(100, 60), at=(470, 200)) -> list[Image.Image]:
    """A face (100 px wide) swaying on the left of 640x480; during `second`, another one
    (60 px wide) on the right, at `at`."""
    first, other = head(widths[0]), head(widths[1])
    background = Image.fromarray(scenes.face_frames(None, frames=1)[0])
    out = []
    for i in range(frames):
        frame = background.copy()
        frame.paste(first, (60 + round(12 * math.sin(2 * math.pi * i / 15)), 120))
        if i in second:
            frame.paste(other, at)
        out.append(frame)
    return out


# The face entering: too small for the 128 px pass, which searches whole; and large enough
# for it, where the face followed is too small for that pass, which then does not run.
ENTERING = {"small": ((100, 60), (470, 200)), "large": ((60, 150), (330, 100))}


@pytest.mark.parametrize("entering", ENTERING)
def test_a_face_entering_is_found_within_the_whole_frame_interval(modules_page, entering):
    widths, at = ENTERING[entering]
    # The second face enters two frames after a whole search: found at the next one.
    enters = WHOLE_EVERY + 2
    leaves, frames = 2 * WHOLE_EVERY + 10, 2 * WHOLE_EVERY + 16
    pictures = video(frames, range(enters, leaves), widths, at)
    seen = modules_page.evaluate(FOLLOW, [png_url(f) for f in pictures])
    counts = [len(s["mine"]) for s in seen]
    assert all(len(s["theirs"]) == (2 if enters <= i < leaves else 1) for i, s in enumerate(seen))
    # Most frames were searched in a window: the test follows what the page does.
    assert sum(s["windowed"] for s in seen) >= frames * 0.7, [s["windowed"] for s in seen]

    assert counts[:enters] == [1] * enters
    found = next(i for i in range(enters, leaves) if counts[i] == 2)
    assert found - enters < WHOLE_EVERY, counts
    assert counts[found:leaves] == [2] * (leaves - found), counts  # followed from then on
    # The face that left is missed in its window, and the next frame is searched whole
    # (the large one's window and the other's are most of the frame: it is searched whole).
    assert counts[leaves:] == [1] * (frames - leaves), counts
    assert seen[leaves]["windowed"] == (entering == "small")
    assert not (seen[leaves]["windowed"] and seen[leaves + 1]["windowed"])


def test_the_faces_followed_keep_the_whole_searchs_boxes_and_eyes(modules_page):
    seen = modules_page.evaluate(FOLLOW, [png_url(f) for f in video(30, range(0, 30))])
    windowed = 0
    for s in seen:
        assert len(s["mine"]) == len(s["theirs"]) == 2
        windowed += s["windowed"]
        for mine, theirs in zip(s["mine"], s["theirs"], strict=True):
            corners = np.array([mine[k] - theirs[k] for k in ("x", "y", "width", "height")])
            assert np.abs(corners).max() <= 2, (mine, theirs)
            eyes = math.dist(*((theirs["eyes"][e]["x"], theirs["eyes"][e]["y"])
                               for e in ("right", "left")))
            for e in ("right", "left"):
                apart = math.dist((mine["eyes"][e]["x"], mine["eyes"][e]["y"]),
                                  (theirs["eyes"][e]["x"], theirs["eyes"][e]["y"]))
                assert apart < 0.02 * eyes, (e, apart, eyes)
    assert windowed >= 24
