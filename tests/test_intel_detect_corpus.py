"""The labelled synthetic corpus: deterministic, real countries for planted IPs, and a quality floor."""

from __future__ import annotations

import csv
import io
import ipaddress
import zipfile
from collections import defaultdict

import openpyxl
from iptocc import country_code

from haven.intel import synthetic
from haven.intel.detect import find_identifiers
from haven.intel.types import IDENTIFIER_TYPES, Hint


def test_same_seed_same_bytes_other_seed_other_corpus() -> None:
    first, second = synthetic.corpus(3), synthetic.corpus(3)
    assert first.files == second.files
    assert first.labels == second.labels
    assert synthetic.corpus(4).files["chat/log1.txt"] != first.files["chat/log1.txt"]
    assert synthetic.demo_files() == synthetic.demo_files()


def test_every_type_is_planted_in_several_countries() -> None:
    corpus = synthetic.corpus(3)
    labels = set().union(*corpus.labels.values())
    assert {kind for kind, _ in labels} == set(IDENTIFIER_TYPES)
    phone_countries = {v[:3] for kind, v in labels if kind == "phone"}
    assert len(phone_countries) >= 6
    assert any(kind == "ipv4" and not ipaddress.ip_address(v).is_global for kind, v in labels)


def test_verified_ips_are_in_the_countries_listed() -> None:
    for address, country in (*synthetic.VERIFIED_IPS, *synthetic.VERIFIED_IPV6):
        assert country_code(address) == country, address
        assert ipaddress.ip_address(address).is_global
    assert {c for _, c in synthetic.VERIFIED_IPS} == set(synthetic.COUNTRIES)


def test_planted_public_ips_route_to_a_listed_country() -> None:
    corpus = synthetic.corpus(3)
    countries = set(synthetic.COUNTRIES)
    for labels in corpus.labels.values():
        for kind, value in labels:
            if not kind.startswith("ip"):
                continue
            address = ipaddress.ip_address(value)
            address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:a.b.c.d is its IPv4's
            if address.is_global:
                assert country_code(str(address)) in countries, value


def test_office_files_open() -> None:
    corpus = synthetic.corpus(3)
    sheet = openpyxl.load_workbook(io.BytesIO(corpus.files["customers/list2.xlsx"])).active
    assert next(sheet.iter_rows(values_only=True))[:3] == ("name", "email", "phone")
    assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(corpus.files["docs/memo.docx"])).namelist()


def test_demo_files_hold_identifiers_of_several_countries() -> None:
    files = synthetic.demo_files()
    assert set(files) == {"intel/customers.csv", "intel/chat.log", "intel/message.eml", "intel/article.txt"}
    phones = {f.detail["region"] for f in find_identifiers(files["intel/customers.csv"].decode()) if f.type == "phone"}
    assert len(phones) >= 3


def _found(name: str, data: bytes) -> set[tuple[str, str]]:
    if name.endswith((".csv", ".xlsx")):
        if name.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(data.decode())))
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        return {
            (f.type, f.normalized)
            for row in rows[1:]
            for column, cell in zip(rows[0], row, strict=False)
            for f in find_identifiers(cell, Hint(field=column))
        }
    if name.endswith(".docx"):
        import docx

        text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    else:
        text = data.decode()
    return {(f.type, f.normalized) for f in find_identifiers(text)}


def test_quality_floor_per_type() -> None:
    """A regression guard (bench/intel_extract.py measures properly): F1 >= 0.95 for every type."""
    corpus = synthetic.corpus(5)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for name, data in corpus.files.items():
        found, expected = _found(name, data), corpus.labels[name]
        for kind, _ in found & expected:
            counts[kind][0] += 1
        for kind, _ in found - expected:
            counts[kind][1] += 1
        for kind, _ in expected - found:
            counts[kind][2] += 1
    for kind in IDENTIFIER_TYPES:
        tp, fp, fn = counts[kind]
        f1 = 2 * tp / (2 * tp + fp + fn)
        assert f1 >= 0.95, (kind, tp, fp, fn)
