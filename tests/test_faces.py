"""Face detection, embeddings, quality, clustering and the vector index, on LFW adults, synthetic
pictures and composites of LFW faces (no store involved)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faces_builders import composite, jpeg, lfw_bytes, lfw_path
from haven.errors import HavenError
from haven.faces.analysis import analyse_picture
from haven.faces.clustering import cluster_embeddings
from haven.faces.model import FaceModel, load_face_model
from haven.faces.settings import FaceSettings
from haven.faces.vector_index import ExactIndex, HnswIndex
from media_builders import synthetic_image, truncated

WORKING = 3200


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return load_face_model(FaceSettings())


def only_face(model: FaceModel, data: bytes, working: int = WORKING):
    result = analyse_picture(data, model, working)
    assert result.error is None
    assert len(result.faces) == 1, [f.box for f in result.faces]
    return result.faces[0]


def test_detects_the_face_of_an_lfw_picture_with_landmarks_quality_and_embedding(model: FaceModel) -> None:
    face = only_face(model, lfw_bytes("Colin_Powell", 1))
    x, y, w, h = face.box
    # LFW pictures are 250x250 with the labelled face on the centre.
    assert x < 125 < x + w and y < 125 < y + h and 60 <= w <= 160
    assert len(face.landmarks) == 5
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.landmarks)
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert 0.5 < face.quality <= 1.0


def test_a_synthetic_picture_has_no_face_and_no_error(model: FaceModel) -> None:
    result = analyse_picture(jpeg(synthetic_image(640, 480, seed=3)), model, WORKING)
    assert result.error is None
    assert result.faces == []


def test_a_composite_of_four_people_gives_four_faces_in_reading_order(model: FaceModel) -> None:
    people = [("Colin_Powell", 1), ("Tony_Blair", 1), ("Hugo_Chavez", 1), ("Gerhard_Schroeder", 1)]
    result = analyse_picture(composite(people), model, WORKING)
    assert result.error is None
    centres = [(f.box[0] + f.box[2] // 2, f.box[1] + f.box[3] // 2) for f in result.faces]
    tiles = [(cx // 250, cy // 250) for cx, cy in centres]
    assert tiles == [(0, 0), (1, 0), (0, 1), (1, 1)]
    # Four different people: every pair of embeddings is further apart than the model's threshold.
    vectors = np.stack([f.embedding for f in result.faces])
    distances = np.linalg.norm(vectors[:, None] - vectors[None, :], axis=2)
    assert (distances[np.triu_indices(4, 1)] > model.threshold).all()


def test_boxes_are_mapped_back_to_the_original_pixels_of_a_reduced_picture() -> None:
    small = load_face_model(FaceSettings(max_side=300))
    original = only_face(small, lfw_bytes("Tony_Blair", 1))
    with Image.open(lfw_path("Tony_Blair", 1)) as img:
        big = jpeg(img.convert("RGB").resize((1000, 1000), Image.Resampling.BICUBIC))
    # Decoded to 600 px, detected at 300 px, reported in the 1000 px original.
    scaled = only_face(small, big, working=600)
    assert np.allclose(np.array(scaled.box), np.array(original.box) * 4, atol=24)


def test_exif_orientation_is_applied_before_detection(model: FaceModel) -> None:
    upright = only_face(model, lfw_bytes("Hugo_Chavez", 1))
    with Image.open(lfw_path("Hugo_Chavez", 1)) as img:
        turned = img.convert("RGB").transpose(Image.Transpose.ROTATE_90)  # stored on its side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 clockwise to view"
    face = only_face(model, jpeg(turned, exif=exif.tobytes()))
    assert np.allclose(np.array(face.box), np.array(upright.box), atol=12)
    assert np.linalg.norm(face.embedding - upright.embedding) < 0.2


@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage",
        # One IFD entry: Orientation (0x0112) = 9, a value that does not exist.
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00",
    ],
    ids=["garbage-exif", "impossible-orientation"],
)
def test_unreadable_exif_is_ignored_and_faces_still_found(model: FaceModel, exif: bytes) -> None:
    people = [("Colin_Powell", 1), ("Tony_Blair", 1), ("Hugo_Chavez", 1)]
    with Image.open(io.BytesIO(composite(people, columns=3))) as sheet:
        data = jpeg(sheet, exif=exif)
    result = analyse_picture(data, model, WORKING)
    assert result.error is None
    assert [(f.box[0] + f.box[2] // 2) // 250 for f in result.faces] == [0, 1, 2]
    assert all(f.box[1] + f.box[3] <= 250 for f in result.faces)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (truncated(lfw_bytes("Colin_Powell", 2), 0.3), "unreadable picture"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "unreadable picture"),
        (b"not a picture at all", "not an image format Pillow reads"),
    ],
    ids=["truncated-jpeg", "corrupt-png", "not-an-image"],
)
def test_an_unreadable_picture_is_an_error_not_an_exception(model: FaceModel, data: bytes, expected: str) -> None:
    result = analyse_picture(data, model, WORKING)
    assert result.faces == []
    assert result.error is not None and expected in result.error


def test_same_person_clusters_together_and_another_person_apart(model: FaceModel) -> None:
    vectors = np.stack(
        [
            only_face(model, lfw_bytes("Colin_Powell", 1)).embedding,
            only_face(model, lfw_bytes("Colin_Powell", 2)).embedding,
            only_face(model, lfw_bytes("Tony_Blair", 1)).embedding,
        ]
    )
    assert np.linalg.norm(vectors[0] - vectors[1]) < model.cluster_threshold < np.linalg.norm(vectors[0] - vectors[2])
    labels = cluster_embeddings(vectors, model.cluster_threshold)
    assert labels[0] == labels[1] != labels[2]


def test_clustering_nothing_gives_nothing() -> None:
    assert cluster_embeddings(np.zeros((0, 128), np.float32), 0.5) == []


def test_exact_index_respects_k_and_distance_and_hnsw_agrees() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    query = vectors[:3] + 0.01
    exact = ExactIndex(vectors).search(query, 5, 4.0)
    for i, found in enumerate(exact):
        assert found[0][0] == i
        assert len(found) <= 5 and all(d <= 4.0 for _, d in found)
        assert [d for _, d in found] == sorted(d for _, d in found)
    assert ExactIndex(vectors).search(query, 5, 0.001) == [[], [], []]
    approx = HnswIndex(vectors).search(query, 5, 4.0)
    assert [a[0][0] for a in approx] == [0, 1, 2]


def test_a_plugged_model_is_loaded_from_its_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "agency_faces.py").write_text(
        "class Model:\n"
        "    name = 'agency-v2'\n"
        "    dimensions = 4\n"
        "    threshold = 0.3\n"
        "    def __init__(self, settings):\n"
        "        self.settings = settings\n"
        "    def detect(self, image):\n"
        "        return []\n"
        "def make(settings):\n"
        "    return Model(settings)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = load_face_model(FaceSettings(model="agency_faces:make", upsample=0))
    assert loaded.name == "agency-v2" and loaded.settings.upsample == 0  # type: ignore[attr-defined]
    sys.modules.pop("agency_faces", None)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (FaceSettings(model="no_such_module_xyz:make"), "cannot load face model"),
        (FaceSettings(model="justaname"), "HAVEN_FACE_MODEL must be"),
        (FaceSettings(detector="sift"), "HAVEN_FACE_DETECTOR"),
    ],
)
def test_a_misconfigured_model_is_a_clear_error(settings: FaceSettings, message: str) -> None:
    with pytest.raises(HavenError, match=message):
        load_face_model(settings)


def test_a_model_folder_without_the_files_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HavenError, match="face model file missing"):
        load_face_model(FaceSettings(model_dir=str(tmp_path)))


def test_settings_come_from_the_environment() -> None:
    settings = FaceSettings.from_env(
        {"HAVEN_FACE_MODEL_DIR": "/models", "HAVEN_FACE_UPSAMPLE": "0", "HAVEN_FACE_THRESHOLD": "0.55"}
    )
    assert (settings.model_dir, settings.upsample, settings.threshold, settings.detector) == ("/models", 0, 0.55, "hog")
