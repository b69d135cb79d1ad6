"""Identifier detectors: every type's true positives (odd forms too), look-alikes kept out, normalization."""

from __future__ import annotations

import pytest

from haven.intel.detect import find_identifiers
from haven.intel.types import Found, Hint


def pairs(text: str, hint: Hint | None = None) -> set[tuple[str, str]]:
    return {(f.type, f.normalized) for f in find_identifiers(text, hint)}


def only(text: str, kind: str, hint: Hint | None = None) -> list[Found]:
    return [f for f in find_identifiers(text, hint) if f.type == kind]


# --- e-mail -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("write to Alice.Smith@Example.COM today", "alice.smith@example.com"),
        ("<bob+tag@mail.example.co.uk>", "bob+tag@mail.example.co.uk"),
        ("defanged carol[at]example[.]org here", "carol@example.org"),
        ("dave (at) example.net", "dave@example.net"),
        ("hidden: eve@abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", None),
    ],
)
def test_email_forms(text: str, normalized: str | None) -> None:
    found = only(text, "email")
    assert len(found) == 1
    if normalized:
        assert found[0].normalized == normalized
    assert found[0].normalized.endswith(found[0].normalized.split("@")[1])


def test_email_spellings_normalize_alike_and_domain_not_reported() -> None:
    assert pairs("Alice@EXAMPLE.com") == pairs("alice@example.com") == {("email", "alice@example.com")}


def test_message_id_is_a_domain_not_an_email() -> None:
    found = pairs("Message-ID: <3f2a9c@news.example.net>\nReferences: <x1@feed.example.org>")
    assert found == {("domain", "news.example.net"), ("domain", "feed.example.org")}


@pytest.mark.parametrize("text", ["user@localhost", "a@b", "name@file.txt", "@@example.com"])
def test_email_lookalikes(text: str) -> None:
    assert only(text, "email") == []


# --- IPs ----------------------------------------------------------------------------------------------------


def test_ipv4_routable_and_ranges() -> None:
    found = {
        f.normalized: f.detail
        for f in only(
            "from 81.2.69.142, lan 192.168.1.23, lo 127.0.0.1, doc 203.0.113.9, cgnat 100.64.2.2, ll 169.254.1.1",
            "ipv4",
        )
    }
    assert found["81.2.69.142"] == {"routable": True}
    assert found["192.168.1.23"] == {"routable": False, "range": "private"}
    assert found["127.0.0.1"]["range"] == "loopback"
    assert found["203.0.113.9"]["range"] == "documentation"
    assert found["100.64.2.2"]["range"] == "shared"
    assert found["169.254.1.1"]["range"] == "link-local"


@pytest.mark.parametrize(
    "text",
    ["version 1.2.3.4", "v1.2.3.4", "build 10.0.19041.1", "1.2.3.4.5", "999.1.1.1", "ver. 4.3.2.1", "12.30.2024"],
)
def test_ipv4_lookalikes(text: str) -> None:
    assert only(text, "ipv4") == []


def test_ipv4_defanged() -> None:
    assert pairs("seen at 81.2.69[.]142 ok") == {("ipv4", "81.2.69.142")}


def test_ipv6_forms() -> None:
    text = "a 2A00:1450:4001:082B:0000:0000:0000:200E b [IPv6:2001:db8::1] c fe80::1%eth0 d ::ffff:81.2.69.142"
    found = {f.normalized: f.detail for f in only(text, "ipv6")}
    assert found["2a00:1450:4001:82b::200e"] == {"routable": True}
    assert found["2001:db8::1"]["range"] == "documentation"
    assert found["fe80::1"]["range"] == "link-local"
    assert found["::ffff:5102:458e"]["routable"] is True


def test_ipv4_mapped_ipv6_is_also_its_ipv4() -> None:
    """A dual-stack server logs an IPv4 client as ``::ffff:a.b.c.d``: the IPv4 links it with other logs."""
    text = "sshd: Accepted password from ::ffff:81.2.69.160 port 51234; later ::ffff:5102:45a1 again"
    assert {("ipv6", "::ffff:5102:45a0"), ("ipv4", "81.2.69.160"), ("ipv6", "::ffff:5102:45a1")} <= pairs(text)
    assert ("ipv4", "81.2.69.161") in pairs(text)
    assert ("ipv4", "81.2.69.160") not in pairs("2a00:23c4::5102:45a0")


@pytest.mark.parametrize("text", ["at 12:30:45 today", "mac 00:1a:2b:3c:4d:5e", "std::vector", "ratio 3:4"])
def test_ipv6_lookalikes(text: str) -> None:
    assert only(text, "ipv6") == []


# --- phones -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164", "region"),
    [
        ("call +44 20 7946 0958 now", "+442079460958", "GB"),
        ("+1 (415) 555-0132", "+14155550132", "US"),
        ("0049 30 12345678", "+493012345678", "DE"),
        ("tel: +33-6-12-34-56-78.", "+33612345678", "FR"),
        ("+55 11 96123-4567", "+5511961234567", "BR"),
        ("+61 412 345 678", "+61412345678", "AU"),
        ("+63 905 123 4567", "+639051234567", "PH"),
        ("+91 81234 56789", "+918123456789", "IN"),
        ("+31 6 12345678", "+31612345678", "NL"),
        ("+1 506-234-5678", "+15062345678", "CA"),
    ],
)
def test_international_phones(text: str, e164: str, region: str) -> None:
    found = only(text, "phone")
    assert [(f.normalized, f.detail["region"]) for f in found] == [(e164, region)]


def test_national_phone_needs_region() -> None:
    assert only("call (415) 555-0132", "phone") == []
    found = only("call (415) 555-0132", "phone", Hint(region="US"))
    assert [f.normalized for f in found] == ["+14155550132"]
    assert only("ring 020 7946 0958", "phone", Hint(region="GB"))[0].normalized == "+442079460958"
    assert only("code 20240115 or 30 12345678", "phone", Hint(region="DE")) == []  # no trunk "0"
    assert only("030 12345678", "phone", Hint(region="DE"))[0].normalized == "+493012345678"


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15 14:03:22",
        "order #4155550132",
        "invoice no. +4155550132",
        "version 4.1.5.5",
        "sha1 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
        "15/01/2024 14:03",
        "SKU 415-555-0132",
        "+1 2",
    ],
)
def test_phone_lookalikes(text: str) -> None:
    assert only(text, "phone", Hint(region="US")) == []


def test_messenger_named_before_phone() -> None:
    assert only("whatsapp: +44 7400 123456", "phone")[0].detail["platform"] == "whatsapp"


# --- URLs and domains ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("see HTTPS://WWW.Example.COM:443/a/b?x=1#frag.", "https://www.example.com/a/b?x=1"),
        ("hxxp://evil[.]example[.]org/x", "http://evil.example.org/x"),
        ("hxxps[:]//files.example.net/p", "https://files.example.net/p"),
        ("(www.example.com/page)", "http://www.example.com/page"),
        ("https://example.com", "https://example.com/"),
        ("ftp://files.example.de:2121/dump", "ftp://files.example.de:2121/dump"),
    ],
)
def test_url_forms(text: str, url: str) -> None:
    assert [f.normalized for f in only(text, "url")] == [url]


def test_url_host_not_a_domain_and_ip_url_is_both() -> None:
    assert pairs("go to https://news.example.net/a") == {("url", "https://news.example.net/a")}
    assert pairs("http://81.2.69.142:8080/x") == {("url", "http://81.2.69.142:8080/x"), ("ipv4", "81.2.69.142")}
    assert ("ipv6", "2001:db8::1") in pairs("http://[2001:db8::1]/x")


def test_profile_and_payment_links() -> None:
    assert pairs("t.me/Some_Body") == {("url", "http://t.me/Some_Body"), ("handle", "telegram/some_body")}
    assert ("payment", "paypal:bobpay") in pairs("https://paypal.me/BobPay")
    assert ("phone", "+447400123456") in pairs("https://wa.me/447400123456")
    assert not [f for f in find_identifiers("https://t.me/joinchat/AbCd") if f.type == "handle"]


@pytest.mark.parametrize("text", ["example.co.uk", "Mirror.Example.DE", "xn--80ak6aa92e.com", "www.foo.sh"])
def test_domains(text: str) -> None:
    found = find_identifiers(text)
    assert len(found) == 1 and found[0].type in ("domain", "url")


@pytest.mark.parametrize(
    "text",
    [
        "file.txt",
        "v1.2.3",
        "readme.md",
        "photo.jpg",
        "report.pdf",
        "setup.py",
        "clip.mov",
        "backup.zip",
        "run.sh",
        "end.Then",
        "e.g. this",
        "3.14",
    ],
)
def test_domain_lookalikes(text: str) -> None:
    assert find_identifiers(text) == []


def test_file_like_suffix_counts_with_scheme() -> None:
    assert pairs("https://downloads.example.zip/x") == {("url", "https://downloads.example.zip/x")}


# --- handles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("my telegram is @Lil_Fox99", "telegram/lil_fox99"),
        ("kik: foxy.kid", "kik/foxy.kid"),
        ("KIK - foxy.kid", "kik/foxy.kid"),
        ("telegram: @fox", "telegram/fox"),
        ("add me on snap @fox_2", "snapchat/fox_2"),
        ("tg @fox_3", "telegram/fox_3"),
        ("discord: fox#1234", "discord/fox#1234"),
        ("session id: 05a1b2c3d4", "session/05a1b2c3d4"),
        ("wickr me: foxy", "wickr/foxy"),
        ("IG: fox.pics", "instagram/fox.pics"),
        ("@fox_4 on kik", "kik/fox_4"),
        ("ping @somebody later", "unknown/somebody"),
    ],
)
def test_handles(text: str, normalized: str) -> None:
    assert [f.normalized for f in only(text, "handle")] == [normalized]


def test_handle_hint_makes_bare_cell_a_handle() -> None:
    assert pairs("Fox_99", Hint(field="telegram")) == {("handle", "telegram/fox_99")}
    assert pairs(" fox.kid ", Hint(field="username")) == {("handle", "unknown/fox.kid")}
    assert pairs("fox", Hint(field="users.screen_name")) == {("handle", "unknown/fox")}
    assert pairs("fox", Hint(platform="kik")) == {("handle", "kik/fox")}
    assert pairs("fox", Hint(field="city")) == set()
    assert pairs("fox@example.com", Hint(field="username")) == {("email", "fox@example.com")}


@pytest.mark.parametrize(
    "text", ["snap it", "kik: 12345", "meet @ 5pm", "a@b.c", "tg is down", "@everyone look", "@media screen {"]
)
def test_handle_lookalikes(text: str) -> None:
    assert only(text, "handle") == []


# --- wallets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized", "kind"),
    [
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "btc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "p2pkh"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "btc:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh"),
        ("BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", "btc:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "bech32"),
        (
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            "btc:bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            "taproot",
        ),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "eth"),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "eth"),
        (
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "xmr:44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "standard",
        ),
    ],
)
def test_wallets(text: str, normalized: str, kind: str) -> None:
    found = only(f"send to {text} now", "wallet")
    assert [(f.normalized, f.detail["kind"]) for f in found] == [(normalized, kind)]


@pytest.mark.parametrize(
    "text",
    [
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",  # checksum
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzWF5MDQ",  # mixed case
        "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55 checksum broken
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B",
        "d41d8cd98f00b204e9800998ecf8427e",
        "11111111111111111111111111111111",
    ],
)
def test_wallet_lookalikes(text: str) -> None:
    assert only(text, "wallet") == []


# --- payments -----------------------------------------------------------------------------------------------


def test_iban_spaced_and_compact_normalize_alike() -> None:
    spaced = only("IBAN: DE89 3704 0044 0532 0130 00 THEN", "payment")
    compact = only("iban DE89370400440532013000.", "payment")
    assert [f.normalized for f in spaced] == [f.normalized for f in compact] == ["iban:DE89370400440532013000"]
    assert spaced[0].detail == {"scheme": "iban", "country": "DE"}
    assert only("GB82 WEST 1234 5698 7654 32", "payment")[0].normalized == "iban:GB82WEST12345698765432"


@pytest.mark.parametrize("text", ["DE89370400440532013001", "DE00 3704 0044 0532 0130 00", "XX89370400440532013000"])
def test_invalid_ibans(text: str) -> None:
    assert only(text, "payment") == []


def test_paypal_and_cards() -> None:
    assert pairs("paypal: Bob@Example.org") == {("payment", "paypal:bob@example.org"), ("email", "bob@example.org")}
    assert pairs("PayPal = bobpays") == {("payment", "paypal:bobpays")}
    card = only("visa 4111 1111 1111 1111", "payment")
    assert [(f.normalized, f.detail["kind"]) for f in card] == [("card:4111111111111111", "visa")]
    assert only("card number: 5555-5555-5555-4444", "payment")[0].detail["kind"] == "mastercard"
    assert only("account 4111 1111 1111 1111", "payment") == []  # no card word
    assert only("visa 4111 1111 1111 1112", "payment") == []  # Luhn


# --- whole texts --------------------------------------------------------------------------------------------


def test_results_are_ordered_and_point_into_the_text() -> None:
    text = "mail a@example.com, call +44 20 7946 0958, from 81.2.69.142 and t.me/someone"
    found = find_identifiers(text)
    assert [f.start for f in found] == sorted(f.start for f in found)
    for item in found:
        if item.type != "handle":
            assert text[item.start : item.end] == item.value


def test_empty_and_binaryish_text() -> None:
    assert find_identifiers("") == []
    assert find_identifiers("\x00\x01\x02 ÿþ \ufffd" * 100) == []
