"""Same-scene features, bag-of-words index and geometric ranking on UKBench views and ImageNet
distractors (no store involved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from haven.scenes.features import MAX_KEYPOINTS, PictureError, SceneFeatures, extract, inside_box
from haven.scenes.index import BowIndex, build_index
from haven.scenes.ranking import rank
from haven.scenes.verify import MIN_INLIERS, inliers
from media_builders import truncated
from scenes_builders import distractors, flat_png, side_by_side, ukbench

PUZZLE, TIN = (0, 1, 2, 3), (4, 5, 6, 7)


@pytest.fixture(scope="module")
def library() -> dict[int, SceneFeatures]:
    """Keys 0-7: the UKBench views; 100+: distractors."""
    found = {n: extract(ukbench(n)) for n in PUZZLE + TIN}
    found.update({100 + i: extract(data) for i, data in enumerate(distractors(16))})
    return found


def index_of(library: dict[int, SceneFeatures], keys: list[int]) -> BowIndex:
    index = build_index(keys, [0] * len(keys), [library[k].descriptors for k in keys])
    assert index is not None
    return index


def test_features_are_capped_and_mapped_to_the_original() -> None:
    found = extract(ukbench(4))
    assert 100 < len(found) <= MAX_KEYPOINTS
    assert found.descriptors.dtype == np.uint8 and found.descriptors.shape == (len(found), 128)
    assert (found.width, found.height) == (640, 480) and found.scale == 1.0
    assert (found.points[:, 0] < 640).all() and (found.points[:, 1] < 480).all()


def test_every_view_of_an_object_ranks_above_the_distractors(library: dict[int, SceneFeatures]) -> None:
    keys = sorted(library)
    index = index_of(library, keys)
    for query in TIN:
        ranked = rank(index, library[query], lambda ks: {k: library[k] for k in ks}, exclude_keys=[query])
        assert {c.key for c in ranked[:3]} == set(TIN) - {query}, [(c.key, c.inliers) for c in ranked[:5]]
        assert all(c.inliers >= MIN_INLIERS for c in ranked[:3])
        assert all(c.inliers < MIN_INLIERS for c in ranked if c.key >= 100)


def test_a_region_query_finds_the_object_inside_the_box(library: dict[int, SceneFeatures]) -> None:
    keys = [0, 2, 3, 4, 6, 7] + [k for k in library if k >= 100]
    index = index_of(library, keys)
    scene = extract(side_by_side(ukbench(1), ukbench(5)))  # the puzzle left, the tin box right

    def best(box: tuple[int, int, int, int]) -> int:
        ranked = rank(index, inside_box(scene, box), lambda ks: {k: library[k] for k in ks})
        assert ranked[0].inliers >= MIN_INLIERS
        return ranked[0].key

    assert best((640, 0, 640, 480)) in TIN
    assert best((0, 0, 640, 480)) in PUZZLE
    # The box is in the original's pixels: the picture (1280 px) was reduced to 800 px for features.
    right = inside_box(scene, (640, 0, 640, 480))
    assert 0 < len(right) < len(scene) and (right.points[:, 0] * right.scale >= 640).all()


def test_unrelated_pictures_do_not_verify(library: dict[int, SceneFeatures]) -> None:
    assert inliers(library[4], library[100]) < MIN_INLIERS
    assert inliers(library[4], library[5]) >= MIN_INLIERS


def test_a_featureless_picture_gives_no_features_and_no_error() -> None:
    found = extract(flat_png())
    assert len(found) == 0 and found.descriptors.shape == (0, 128)


def test_a_corrupt_picture_raises_a_picture_error() -> None:
    with pytest.raises(PictureError, match="cannot decode picture"):
        extract(truncated(ukbench(4), 0.3))
    with pytest.raises(PictureError):
        extract(b"not a picture at all")


def test_the_index_survives_a_save_and_load_and_drops_pictures(
    library: dict[int, SceneFeatures], tmp_path: Path
) -> None:
    keys = sorted(library)
    index = index_of(library, keys)
    path = tmp_path / "scenes.npz"
    index.save(path)
    loaded = BowIndex.load(path)
    histogram = index.histogram(
        index.words(np.sqrt(library[4].descriptors / library[4].descriptors.sum(1, keepdims=True)))
    )
    assert np.allclose(loaded.scores(histogram), index.scores(histogram), atol=1e-6)
    loaded.keep(loaded.keys != 5)
    assert 5 not in loaded.keys.tolist() and len(loaded) == len(keys) - 1
