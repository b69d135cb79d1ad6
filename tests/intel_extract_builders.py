"""Benign evidence for the extraction tests: one file per reader's format with planted identifiers (documentation
IP ranges, example domains, fictional phone ranges), and the bad inputs the run must survive."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from pathlib import Path

from PIL import Image

from media_builders import encode, synthetic_image

CSV_TEXT = (
    "name,email,phone,telegram,last_ip\n"
    "Ada Example,ada.customer@example.com,+44 20 7946 0958,ada_trades,198.51.100.7\n"
    "Ben Example,ben.customer@example.org,+61 491 570 156,ben_buys,198.51.100.8\n"
)


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Customers"
    sheet.append(["Name", "E-mail", "Kik"])
    sheet.append(["Cleo Example", "cleo.sheet@example.net", "cleo_kik"])
    sheet.append([None, None, None])
    sheet.append(["Dan Example", "dan.sheet@example.net", "dan_kik"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EML = (
    b"Received: from mail.example.net (mail.example.net [203.0.113.25])\n"
    b"\tby mx.example.org with ESMTP; Tue, 2 Jan 2024 11:30:00 +0100\n"
    b"From: Eve Sender <eve.sender@example.com>\n"
    b"To: frank.rcpt@example.org\n"
    b"Reply-To: eve.backup@example.net\n"
    b"X-Originating-IP: [198.51.100.44]\n"
    b"Message-ID: <a1b2c3@mail.example.net>\n"
    b"Date: Tue, 2 Jan 2024 11:29:50 +0100\n"
    b"Subject: order\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"\n"
    b"Hello,\n"
    b"call me on +44 20 7946 0111 tonight.\n"
)

MBOX = (
    b"From eve.sender@example.com Tue Jan  2 10:30:00 2024\n"
    b"From: Gail Mbox <gail.mbox@example.com>\n"
    b"To: hank.mbox@example.org\n"
    b"Date: Wed, 3 Jan 2024 08:00:00 +0000\n"
    b"Subject: one\n"
    b"\n"
    b"first body with gail.alt@example.com\n"
    b"\n"
    b"From hank.mbox@example.org Wed Jan  3 09:00:00 2024\n"
    b"From: Hank Mbox <hank.mbox@example.org>\n"
    b"To: gail.mbox@example.com\n"
    b"Date: Wed, 3 Jan 2024 09:00:00 +0000\n"
    b"Subject: two\n"
    b"\n"
    b"reply body\n"
    b"my telegram is @hank_tg\n"
)

NEWS = (
    b"Path: news.example.net!feeder.example.org!not-for-mail\n"
    b"From: trader <ivan.news@example.com>\n"
    b"Newsgroups: alt.test.example\n"
    b"Subject: offering\n"
    b"Message-ID: <xyz789@news.example.net>\n"
    b"NNTP-Posting-Host: 203.0.113.77\n"
    b"X-Trace: news.example.net 1078329623 198.51.100.99 (3 Mar 2004 16:00:23 GMT)\n"
    b"NNTP-Posting-Date: Wed, 03 Mar 2004 16:00:23 GMT\n"
    b"\n"
    b"write to ivan.body@example.com\n"
)

HTML = (
    b"<!DOCTYPE html>\n<html><head><title>shop</title><script>var x='script@example.com';</script></head>\n"
    b"<body>\n<p>Contact: julia.page@example.com</p>\n"
    b'<a href="mailto:julia.link@example.org">mail</a>\n'
    b'<a href="https://shop.example.net/item/5">item</a>\n'
    b"</body></html>\n"
)

JSON_DOC = json.dumps(
    {
        "users": [
            {"name": "Kim", "email": "kim.json@example.com", "kik": "kim_kik"},
            {"name": "Lee", "ip": "203.0.113.9"},
        ]
    },
    indent=2,
).encode()


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.author = "mona.author@example.com"
    document.add_paragraph("Minutes of the meeting")
    document.add_paragraph("Ask nina.docx@example.org for the list")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def sqlite_bytes(tmp: Path) -> bytes:
    path = tmp / "build-chat.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, email TEXT, telegram TEXT)")
    connection.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT, sent REAL)")
    connection.execute("INSERT INTO users VALUES (1, 'olga_db', 'olga.db@example.com', 'olga_tg')")
    connection.execute("INSERT INTO users VALUES (7, 'pete_db', 'pete.db@example.org', NULL)")
    connection.execute("INSERT INTO messages VALUES (3, 'see 198.51.100.200', 1.5)")
    connection.execute(
        "INSERT INTO messages VALUES (4, ?, 2.5)", ("a NUL\x00 then 203.0.113.201",)
    )  # PostgreSQL refuses NUL
    connection.commit()
    connection.close()
    data = path.read_bytes()
    path.unlink()
    return data


def exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "Quinn Owner quinn.owner@example.com"
    exif[0x8298] = "(c) rhea.copyright@example.org"
    return encode(synthetic_image(96, 64, 11), "JPEG", quality=85, exif=exif.tobytes())


UTF16_CHAT = "[2024-02-01 10:00:00 UTC] sam: hi\n[2024-02-01 10:01:00 UTC] sam: mail sam.utf16@example.com\n"
LATIN1_CHAT = "Réunion à 10h\nécrire à théo.latin@example.com ou +33 1 99 00 12 34\n".replace("théo", "theo")


def good_evidence(root: Path) -> dict[str, bytes]:
    """Every reader's format, written under ``root``; returns name -> bytes."""
    files = {
        "customers.csv": CSV_TEXT.encode(),
        "customers.xlsx": xlsx_bytes(),
        "mail/order.eml": EML,
        "mail/box.mbox": MBOX,
        "news/article.txt": NEWS,
        "web/shop.html": HTML,
        "export/users.json": JSON_DOC,
        "docs/note.pdf": pdf_bytes("Contact trader.pdf@example.org now"),
        "docs/minutes.docx": docx_bytes(),
        "apps/chat.db": sqlite_bytes(root.parent),
        "photos/owner.jpg": exif_jpeg(),
        "chats/utf16.txt": UTF16_CHAT.encode("utf-16-le"),
        "chats/latin1.log": LATIN1_CHAT.encode("latin-1"),
    }
    _write(root, files)
    return files


def bad_evidence(root: Path) -> dict[str, bytes]:
    rng = random.Random(7)
    corrupt_db = b"SQLite format 3\x00" + rng.randbytes(8192)
    files = {
        "bad/broken.csv": b'name,email,note\numa,uma.ok@example.com,fine\nvic,vic@example.com,"bad"quote\n',
        "bad/broken.xlsx": xlsx_bytes()[:900],
        "bad/binary.txt": bytes(rng.randrange(256) for _ in range(4096)),
        "bad/corrupt.db": corrupt_db,
    }
    _write(root, files)
    return files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
