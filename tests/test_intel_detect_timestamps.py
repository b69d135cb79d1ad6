"""An IP carries the time written beside it: explicit offsets to UTC, naive times UTC only when said so."""

from __future__ import annotations

import pytest

from haven.intel.detect import find_identifiers
from haven.intel.detect.timestamps import parse
from haven.intel.types import Hint


def ip_detail(text: str, hint: Hint | None = None) -> dict[str, object]:
    found = [f for f in find_identifiers(text, hint) if f.type in ("ipv4", "ipv6")]
    assert len(found) == 1, found
    return found[0].detail


@pytest.mark.parametrize(
    ("line", "utc"),
    [
        ('81.2.69.142 - - [15/Jan/2024:14:03:22 +0100] "GET / HTTP/1.1" 200', "2024-01-15T13:03:22Z"),
        ("2024-01-15T14:03:22-05:00 login from 81.2.69.142", "2024-01-15T19:03:22Z"),
        ("2024-01-15 14:03:22Z 81.2.69.142", "2024-01-15T14:03:22Z"),
        ("[2024-01-15 14:03:22 UTC] joined from 81.2.69.142", "2024-01-15T14:03:22Z"),
        ("Mon, 15 Jan 2024 14:03:22 +0000 relay 81.2.69.142", "2024-01-15T14:03:22Z"),
        ("81.2.69.142 at 15 Jan 2024 23:30:00 -0300", "2024-01-16T02:30:00Z"),
        ("X-Trace: news.example.net 1705327402 123 81.2.69.142 (15 Jan 2024 14:03:22 GMT)", "2024-01-15T14:03:22Z"),
        ("1/15/2024 2:03:22 PM GMT 2a00:23c4::5", "2024-01-15T14:03:22Z"),
        ("Mon Jan 15 14:03:22 CET 2024 81.2.69.142", "2024-01-15T13:03:22Z"),
    ],
)
def test_offsets_convert_to_utc(line: str, utc: str) -> None:
    assert ip_detail(line)["observed_at"] == utc


def test_naive_time_stays_local_unless_context_says_utc() -> None:
    detail = ip_detail("15.01.2024 14:03:22 connect 81.2.69.142")
    assert "observed_at" not in detail
    assert detail["observed_at_local"] == "2024-01-15T14:03:22"
    said = ip_detail("# all times UTC\n15.01.2024 14:03:22 connect 81.2.69.142")
    assert said["observed_at"] == "2024-01-15T14:03:22Z"
    column = ip_detail("2024-01-15 14:03 81.2.69.142", Hint(field="last_seen_utc"))
    assert column["observed_at"] == "2024-01-15T14:03:00Z"


def test_nearest_timestamp_on_the_same_line_only() -> None:
    text = (
        "2024-01-15T10:00:00Z first\n81.2.69.142 no time here\n2024-01-15T11:00:00Z 86.1.2.3 then 2024-01-15T12:00:00Z"
    )
    found = {f.normalized: f.detail for f in find_identifiers(text) if f.type == "ipv4"}
    assert "observed_at" not in found["81.2.69.142"]
    assert found["86.1.2.3"]["observed_at"] == "2024-01-15T11:00:00Z"


def test_mail_headers_fold_and_fall_back_to_the_date_header() -> None:
    received = (
        "Received: from mx1.example.net (mx1.example.net [81.2.69.142])\n\tby mx.example.com;\n"
        "\tTue, 16 Jan 2024 08:00:00 +0200\nSubject: x\n\nbody"
    )
    assert ip_detail(received)["observed_at"] == "2024-01-16T06:00:00Z"
    article = (
        "Path: news.example.net\nNNTP-Posting-Host: 86.1.2.3\n"
        "NNTP-Posting-Date: Wed, 17 Jan 2024 18:05:48 +0000\n\nbody"
    )
    assert ip_detail(article)["observed_at"] == "2024-01-17T18:05:48Z"


@pytest.mark.parametrize("token", ["2024-02-30 10:00", "2024-01-15", "14:03:22", "13/13/2024 10:00"])
def test_impossible_or_partial_dates_name_no_moment(token: str) -> None:
    assert parse(token) is None
