"""Builds a benign sample evidence set for `make demo`: public photos, edits, archives, bad files.

Everything comes from the benign corpora in ../shared/data (ImageNet sample photos) or is generated.
Usage: python -m haven.demo EVIDENCE_DIR HASHSET_DIR [--photos DIR] [--partner-evidence DIR]

Intelligence material (a customer list, a chat log, an e-mail and a newsgroup article) is synthetic:
made-up people whose identifiers point to several countries. ``--partner-evidence`` writes what a
partner agency seized in its own case: the same customer list, so deconfliction has an overlap to show.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import random
import tarfile
import zipfile
from pathlib import Path

import py7zr
from PIL import Image, ImageEnhance

from haven.analyze import analyze_bytes
from haven.settings import AnalysisSettings

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DEFAULT_PHOTOS = SHARED_DATA / "photos" / "imagenet_sample"
DEFAULT_FACES = SHARED_DATA / "faces"  # LFW: public photos of adults, for the faces stage
DEFAULT_TEXT = SHARED_DATA / "text"  # scene text and receipts, for the OCR stage
PEOPLE = 3  # people, three pictures each: the faces stage groups them into three identities
PICTURES_EACH = 3
TEXT_PICTURES = 3


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _edit(data: bytes, seed: int) -> bytes:
    """A re-encoded, resized, slightly brightened copy: the same picture to PDQ, new bytes to MD5."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((max(64, image.width * 3 // 4), max(64, image.height * 3 // 4)))
    image = ImageEnhance.Brightness(image).enhance(1.0 + (seed % 3) * 0.05)
    return _jpeg(image, quality=70)


def build(
    evidence: Path,
    hashsets: Path,
    photos: Path,
    faces: Path | None = DEFAULT_FACES,
    text: Path | None = DEFAULT_TEXT,
) -> dict[str, int]:
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in {".jpeg", ".jpg", ".png"})
    if len(files) < 60:
        raise SystemExit(f"need at least 60 photos in {photos}, found {len(files)}")
    rng = random.Random(2026)
    chosen = rng.sample(files, 60)
    evidence.mkdir(parents=True, exist_ok=True)
    hashsets.mkdir(parents=True, exist_ok=True)
    settings = AnalysisSettings()

    dcim = evidence / "DCIM"
    dcim.mkdir(exist_ok=True)
    for path in chosen[:30]:
        (dcim / path.name.lower()).write_bytes(path.read_bytes())
    # Already-known pictures: their exact MD5s are in the known list.
    known_exact = [p.read_bytes() for p in chosen[:12]]
    # Edited copies of known pictures: only PDQ can recognise them.
    edited = evidence / "Downloads" / "edited"
    edited.mkdir(parents=True, exist_ok=True)
    near_sources = chosen[30:40]
    for i, path in enumerate(near_sources):
        (edited / f"img_{i:03d}.jpg").write_bytes(_edit(path.read_bytes(), i))
    # Re-saved copies of pictures already in DCIM: they stack with their originals (one review each).
    resized = evidence / "Downloads" / "resized"
    resized.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(chosen[20:25]):
        (resized / f"copy_{i:03d}.jpg").write_bytes(_edit(path.read_bytes(), i))
    # Archives, nested: a zip holding photos and a 7z that holds more.
    inner = io.BytesIO()
    with py7zr.SevenZipFile(inner, "w") as seven:
        for path in chosen[40:45]:
            seven.writestr(path.read_bytes(), f"old/{path.name}")
    with zipfile.ZipFile(evidence / "backup.zip", "w") as archive:
        for path in chosen[45:50]:
            archive.writestr(f"phone/{path.name}", path.read_bytes())
        archive.writestr("phone/old.7z", inner.getvalue())
    with tarfile.open(evidence / "holiday.tar.gz", "w:gz") as tar:
        for path in chosen[50:55]:
            tar.add(path, arcname=f"holiday/{path.name}")
    # A password-protected 7z (flagged encrypted) and a random-looking container (suspected encrypted).
    with py7zr.SevenZipFile(evidence / "private.7z", "w", password="demo-password") as seven:
        seven.writestr(chosen[55].read_bytes(), chosen[55].name)
    (evidence / "Documents").mkdir(exist_ok=True)
    (evidence / "Documents" / "volume.dat").write_bytes(rng.randbytes(512 * 2048))
    (evidence / "Documents" / "notes.txt").write_text("shopping list\nmilk\nbread\n", encoding="utf-8")
    # Bad input: a truncated photo and a photo with the wrong extension.
    (evidence / "DCIM" / "broken.jpg").write_bytes(chosen[56].read_bytes()[:2000])
    (evidence / "Documents" / "report.pdf").write_bytes(chosen[57].read_bytes())
    # "System" files that a known-good list (like NSRL) recognises.
    system = evidence / "Windows" / "System32"
    system.mkdir(parents=True, exist_ok=True)
    system_files = []
    for i in range(8):
        data = f"MZ demo system library {i}\n".encode() * 64
        (system / f"lib{i:02d}.dll").write_bytes(data)
        system_files.append(data)

    _write_lists(hashsets, known_exact, [p.read_bytes() for p in near_sources], system_files, settings)
    _add_people_and_text(evidence, faces, text)
    _add_intel_material(evidence)
    return {"photos": len(chosen), "files": sum(len(f) for _, _, f in os.walk(evidence))}


def _add_people_and_text(evidence: Path, faces: Path | None, text: Path | None) -> None:
    """Adults' portraits (LFW) for the faces stage and pictures with text for OCR, when the corpora exist."""
    if faces is not None and (faces / "labels.csv").is_file():
        with (faces / "labels.csv").open(encoding="utf-8") as rows:
            by_person: dict[str, list[str]] = {}
            for row in csv.DictReader(rows):
                by_person.setdefault(row["person_id"], []).append(row["path"])
        people = [paths for _, paths in sorted(by_person.items()) if len(paths) >= PICTURES_EACH][:PEOPLE]
        folder = evidence / "Pictures" / "people"
        folder.mkdir(parents=True, exist_ok=True)
        for n, paths in enumerate(people):
            for m, relative in enumerate(sorted(paths)[:PICTURES_EACH]):
                (folder / f"person{n + 1}_{m + 1}.jpg").write_bytes((faces / relative).read_bytes())
    if text is not None and (text / "ground_truth.csv").is_file():
        with (text / "ground_truth.csv").open(encoding="utf-8") as rows:
            receipts = [row["path"] for row in csv.DictReader(rows) if row["path"].startswith("receipts/")]
        folder = evidence / "Pictures" / "scans"
        folder.mkdir(parents=True, exist_ok=True)
        for relative in sorted(receipts)[:TEXT_PICTURES]:
            (folder / Path(relative).name).write_bytes((text / relative).read_bytes())


def _add_intel_material(evidence: Path) -> None:
    """Synthetic identifiers for ``haven intel``: a customer list, a chat log, an e-mail, a news article."""
    from haven.intel.synthetic import demo_files

    for name, data in demo_files().items():
        target = evidence / "Documents" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def build_partner_evidence(folder: Path) -> None:
    """A partner agency's seizure: the same customer list (a distributor's list reaches many units)."""
    from haven.intel.synthetic import demo_files

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_bytes(demo_files()["intel/customers.csv"])


def _write_lists(
    hashsets: Path, exact: list[bytes], near: list[bytes], system: list[bytes], settings: AnalysisSettings
) -> None:
    lines = ["MD5"] + [f"{hashlib.md5(d).hexdigest()},{1 + i % 2}" for i, d in enumerate(exact)]
    (hashsets / "known-md5.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pdq_lines = []
    for data in near:
        info = analyze_bytes(data, settings)
        if info.pdq:
            pdq_lines.append(f"pdq {info.pdq},1")
    (hashsets / "known-pdq.txt").write_text("\n".join(pdq_lines) + "\n", encoding="utf-8")
    good = ["SHA-1"] + [hashlib.sha1(d).hexdigest() for d in system]
    (hashsets / "known-good-sha1.txt").write_text("\n".join(good) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("evidence", type=Path)
    parser.add_argument("hashsets", type=Path)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="LFW corpus (portraits of adults)")
    parser.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="pictures with text, for OCR")
    parser.add_argument("--partner-evidence", type=Path, help="also write a partner agency's seizure here")
    args = parser.parse_args()
    counts = build(args.evidence, args.hashsets, args.photos.resolve(), args.faces.resolve(), args.text.resolve())
    print(f"Sample evidence: {args.evidence} ({counts['files']} files); hash sets: {args.hashsets}")
    if args.partner_evidence:
        build_partner_evidence(args.partner_evidence)


if __name__ == "__main__":
    main()
