import numpy as np

from tests.training.conftest import ROWS
from training.ferplus import majority_labels, read_split, soft_targets


def test_reader_loads_images_and_votes(ferplus_dir, tmp_path):
    split = read_split(ferplus_dir / "FER2013Test", cache_dir=tmp_path / "cache")
    assert len(split) == len(ROWS)
    assert split.images.shape == (len(ROWS), 48, 48) and split.images.dtype == np.uint8
    assert split.votes.shape == (len(ROWS), 10)
    again = read_split(ferplus_dir / "FER2013Test", cache_dir=tmp_path / "cache")  # cached
    assert np.array_equal(again.images, split.images) and again.names == split.names


def test_majority_protocol_matches_the_paper():
    votes = np.array([v for v, _ in ROWS], np.float32)
    assert majority_labels(votes).tolist() == [label for _, label in ROWS]


def test_soft_targets_are_vote_distributions():
    t = soft_targets(np.array([[6, 0, 0, 1, 3, 0, 0, 0, 5, 0]], np.float32))
    assert np.allclose(t, [[6 / 9, 0, 0, 0, 3 / 9, 0, 0, 0]])


def test_a_missing_folder_says_what_data_is_expected(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="FER2013Train"):
        read_split(tmp_path / "nowhere")
