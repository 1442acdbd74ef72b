import numpy as np
import pytest
from PIL import Image

from function import service
from function.detect import FaceDetector
from function.model import LABELS, face_array
from function.service import crop_faces
from tests.training.sets import make_set
from training.expressions import one_hot, read_rows, read_set


@pytest.fixture(scope="module")
def head(astronaut) -> Image.Image:
    # Her head and shoulders, about as the taiwanese pictures frame a performer.
    return astronaut.crop((120, 0, 420, 330)).resize((180, 198))


def test_reader_takes_each_split_and_maps_labels_to_the_api_order(tmp_path):
    folder = make_set(tmp_path, "expw", {"train": ["Anger", "Fear", "Neutral"],
                                          "valid": ["Disgust"]})
    train = read_set(folder, "train", 48, tmp_path / "cache")
    assert train.images.shape == (3, 48, 48) and train.images.dtype == np.uint8
    assert [LABELS[i] for i in train.labels] == ["Anger", "Fear", "Neutral"]
    assert [p.split("/")[0] for p in train.paths] == ["train"] * 3
    valid = read_set(folder, "valid", 48, tmp_path / "cache")
    assert [LABELS[i] for i in valid.labels] == ["Disgust"]
    # A face crop is used whole, resized the way the API resizes.
    with Image.open(folder / train.paths[0]) as im:
        assert np.array_equal(train.images[0], face_array(im.convert("RGB"), 48, True))
    # The second read comes from the cache, with the same faces.
    again = read_set(folder, "train", 48, tmp_path / "cache")
    assert np.array_equal(again.images, train.images) and list(again.labels) == [4, 6, 0]


def test_reader_refuses_unknown_labels_and_splits_by_name(tmp_path):
    folder = make_set(tmp_path, "sfew", {"train": ["Happiness"]})
    with pytest.raises(ValueError, match="train, valid"):
        read_rows(folder, "test")
    (folder / "labels.csv").write_text("path,label\ntrain/happiness_0.jpg,Joy\n")
    with pytest.raises(ValueError, match="Joy.*Neutral, Happiness"):
        read_rows(folder, "train")
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        read_rows(tmp_path / "nowhere", "train")


def test_whole_heads_are_cropped_by_the_apis_own_detector(tmp_path, head):
    folder = make_set(tmp_path, "taiwanese", {"train": ["Anger", "Sadness"]}, head=head)
    got = read_set(folder, "train", 64, tmp_path / "cache")
    assert got.missed == 0
    for face, path in zip(got.images, got.paths, strict=True):
        with Image.open(folder / path) as im:
            picture = im.convert("RGB")
        found = crop_faces(picture, FaceDetector())
        assert found, "the API finds her face in the picture"
        # Exactly the API's crop of that picture, not the whole picture.
        assert np.array_equal(face, face_array(found[0].crop, 64, True))
        assert not np.array_equal(face, face_array(picture, 64, True))


def test_cached_crops_are_made_again_when_the_api_frames_faces_differently(tmp_path, head,
                                                                          monkeypatch):
    folder = make_set(tmp_path, "taiwanese", {"train": ["Anger"]}, head=head)
    before = read_set(folder, "train", 64, tmp_path / "cache")
    monkeypatch.setattr(service, "SIDE_PER_BOX_WIDTH", 1.6)     # a looser crop
    after = read_set(folder, "train", 64, tmp_path / "cache")
    with Image.open(folder / after.paths[0]) as im:
        found = crop_faces(im.convert("RGB"), FaceDetector())
    # The API's crop as it is now, not the one cached before the change.
    assert np.array_equal(after.images[0], face_array(found[0].crop, 64, True))
    assert not np.array_equal(after.images[0], before.images[0])


def test_cached_crops_are_made_again_when_the_detection_code_changes(tmp_path, head,
                                                                   monkeypatch):
    from training import expressions

    folder = make_set(tmp_path, "taiwanese", {"train": ["Anger"]}, head=head)
    read_set(folder, "train", 64, tmp_path / "cache")
    monkeypatch.setattr(expressions, "crop_code", lambda: "an edited detector")
    read_set(folder, "train", 64, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("taiwanese-train-*.npz"))) == 2


def test_a_picture_without_a_face_is_counted_and_used_whole(tmp_path):
    folder = make_set(tmp_path, "taiwanese", {"valid": ["Fear"]})   # noise, no face
    got = read_set(folder, "valid", 32)
    assert got.missed == 1 and got.images.shape == (1, 32, 32)


def test_single_labels_get_smoothed_one_hot_targets():
    t = one_hot([0, 7], smoothing=0.1)
    assert t.shape == (2, 8)
    np.testing.assert_allclose(t.sum(1), 1, rtol=1e-6)
    assert t[0, 0] == pytest.approx(0.9 + 0.1 / 8) and t[1, 0] == pytest.approx(0.1 / 8)
    assert t[1].argmax() == 7
