"""Intelligence pages on both store backends, on the real intel pipeline: a synthetic customer list
extracted (`haven intel extract`), linked into targets (`haven intel targets`), a chat log in another case
sharing one customer, and a partner agency's register (exported with an agreed key, imported).

Checked: members only (non-members 404), identifiers listed with counts and evidence pointers, filters
and keyset pages, the targets table and link-graph picture (an SVG image, nothing executable), the
dashboard's deconfliction warnings, other cases named only to their members, each view audited.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backends import BACKENDS, backend_store
from haven.cases import case_chain, get_case
from haven.intel.extract import extract_case
from haven.intel.register.exchange import export_register, import_register
from haven.intel.register.keys import KeyRing
from haven.intel.targets.service import link_case
from haven.pipeline import ingest
from haven.store.models import AuditEvent
from web_fixtures import WebCase, build_web_case

HTML = {"accept": "text/html"}
CUSTOMERS = 60
SHARED_EMAIL = "customer007@mailbox.org"
PARTNER_AGENCY = "Agency B (synthetic)"
PARTNER_CONTACT = "duty desk, +44 20 7946 0999"


def customer_list() -> str:
    rows = ["customer,email,phone"]
    rows += [f"Client {n:03d} {chr(65 + n % 26)}{chr(75 + n % 13)},customer{n:03d}@mailbox.org,+44 20 7946 0{n:03d}"
             for n in range(CUSTOMERS)]  # fmt: skip
    return "\n".join(rows) + "\n"


def ingest_text(web: WebCase, ref: str, folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest(web.store, web.config, ref, [folder], label=folder.name.upper(), workers=1, show_progress=False)


@pytest.fixture(scope="module", params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebCase]:
    home = tmp_path_factory.mktemp("web-intel")
    with backend_store(request, home) as store:
        web = build_web_case(store, home / "home", images=1)
        ingest_text(web, web.case_ref, home / "seized", {"customers.csv": customer_list()})
        ingest_text(
            web, web.other_case_ref, home / "chat", {"chat.log": f"[2021-05-01 10:00] mail me: {SHARED_EMAIL}\n"}
        )
        investigator = dataclasses.replace(web.config, user=web.users["investigator"])
        extract_case(store, investigator, web.case_ref, workers=1, show_progress=False)
        extract_case(store, dataclasses.replace(web.config, user="outsider"), web.other_case_ref, workers=1,
                     show_progress=False)  # fmt: skip
        ring = KeyRing(web.config.home)
        key = ring.generate("partner-b")
        register = home / "partner-b.register"
        with store.session() as session:
            link_case(session, get_case(session, web.case_ref), web.users["investigator"])
            # The partner's register: what the other case holds, hashed with the key agreed with them.
            export_register(session, register, key=key, agency=PARTNER_AGENCY, contact=PARTNER_CONTACT,
                            user="outsider", references=[web.other_case_ref])  # fmt: skip
        with store.session() as session:
            import_register(session, register, key=key, user="tester")
        yield web


def intel_actions(web: WebCase) -> list[tuple[str, str, dict]]:
    with web.store.session() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.user, AuditEvent.detail)
            .where(AuditEvent.chain == case_chain(web.case_ref), AuditEvent.action.like("intel.web.%"))
            .order_by(AuditEvent.seq)
        ).all()
    return [(action, user, json.loads(detail)) for action, user, detail in rows]


# ---------------------------------------------------------------- members only


def test_non_members_get_404_on_every_intel_page(web: WebCase) -> None:
    outsider = web.login("outsider")
    base = f"/cases/{web.case_ref}/intel"
    for url in [f"{base}/identifiers", f"{base}/identifiers?type=email", f"{base}/targets",
                f"{base}/targets/graph.svg", f"{base}/deconfliction"]:  # fmt: skip
        response = outsider.get(url, headers=HTML)
        assert response.status_code == 404, url
        assert SHARED_EMAIL not in response.text
    assert web.client().get(f"{base}/identifiers").status_code == 401


# ---------------------------------------------------------------- identifiers


def test_identifiers_are_listed_with_counts_and_evidence_a_page_at_a_time(web: WebCase) -> None:
    client = web.login("reviewer")
    base = f"/cases/{web.case_ref}/intel/identifiers"
    first = client.get(base, headers=HTML)
    assert first.status_code == 200
    rows = re.findall(r'<tr data-type="([a-z0-9]+)" data-normalized="([^"]+)">', first.text)
    assert len(rows) == 50 and rows == sorted(rows)  # (type, normalized) order, as `haven intel identifiers`
    assert rows[0] == ("email", "customer000@mailbox.org")
    row = re.search(rf'data-normalized="{SHARED_EMAIL}">(.*?)</tr>', first.text, re.S).group(1)
    assert 'data-occurrences="1"' in row and "customers.csv" in row
    assert re.search(r'href="/cases/WEB-001/items/[0-9a-f]{64}" class="mono">SEIZED:/customers.csv</a>:9', row)
    seen = list(rows)
    next_url = re.search(r'href="([^"]+)" id="identifiers-next"', first.text).group(1).replace("&amp;", "&")
    while next_url:
        page = client.get(next_url, headers=HTML).text
        seen += re.findall(r'<tr data-type="([a-z0-9]+)" data-normalized="([^"]+)">', page)
        found = re.search(r'href="([^"]+)" id="identifiers-next"', page)
        next_url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == 2 * CUSTOMERS
    assert {t for t, _ in seen} == {"email", "phone"}
    assert ("phone", "+442079460042") in seen

    phones = client.get(f"{base}?type=phone&q=0042", headers=HTML).text
    assert re.findall(r'data-normalized="([^"]+)"', phones) == ["+442079460042"]
    assert "GB" in phones  # the country the number points to
    assert client.get(f"{base}?type=nonsense").status_code == 400
    assert client.get(f"{base}?q=%00").status_code == 400
    percent = client.get(f"{base}?q=%25", headers=HTML).text  # a LIKE wildcard is just a character
    assert "data-normalized" not in percent


def test_every_view_is_audited_with_who_and_what(web: WebCase) -> None:
    client = web.login("investigator")
    client.get(f"/cases/{web.case_ref}/intel/identifiers?type=email", headers=HTML)
    client.get(f"/cases/{web.case_ref}/intel/targets", headers=HTML)
    actions = intel_actions(web)
    mine = [(a, d) for a, u, d in actions if u == web.users["investigator"]]
    assert ("intel.web.identifiers", "email") in [(a, d.get("type")) for a, d in mine]
    assert "intel.web.targets" in [a for a, _ in mine]


# ---------------------------------------------------------------- targets and the picture


def test_targets_are_listed_with_their_graph_and_leads_only_to_member_cases(web: WebCase) -> None:
    client = web.login("reviewer")
    page = client.get(f"/cases/{web.case_ref}/intel/targets", headers=HTML).text
    assert int(re.search(r'id="targets-total">(\d+)<', page).group(1)) >= 1
    assert f'<img class="intel-graph" id="targets-graph" src="/cases/{web.case_ref}/intel/targets/graph.svg"' in page
    shared = re.search(rf'<tr data-target="\d+">((?:(?!</tr>).)*{SHARED_EMAIL}.*?)</tr>', page, re.S).group(1)
    assert "+442079460007" in shared or "+44 20 7946 0007" in shared  # the same customer row links them
    assert web.other_case_ref not in page and "1 case you are not a member of" in shared

    graph = client.get(f"/cases/{web.case_ref}/intel/targets/graph.svg")
    assert graph.status_code == 200 and graph.headers["content-type"].startswith("image/svg+xml")
    assert graph.headers["cache-control"] == "no-store"
    svg = graph.text
    assert svg.startswith("<?xml") and "<svg" in svg and SHARED_EMAIL in svg
    assert "<script" not in svg and " style=" not in svg and "<style" not in svg and "href" not in svg
    assert web.other_case_ref not in svg and "(restricted)" in svg

    with web.store.session() as session:
        from haven import accounts

        accounts.add_member(session, web.other_case_ref, web.users["admin"], role="reviewer", by="tester")
    admin = web.login("admin")
    page = admin.get(f"/cases/{web.case_ref}/intel/targets", headers=HTML).text
    assert f'<a href="/cases/{web.other_case_ref}">{web.other_case_ref}</a>' in page
    assert web.other_case_ref in admin.get(f"/cases/{web.case_ref}/intel/targets/graph.svg").text


# ---------------------------------------------------------------- deconfliction on the dashboard


def test_the_dashboard_warns_that_another_agency_works_the_same_identifier(web: WebCase) -> None:
    client = web.login("reviewer")
    dashboard = client.get(f"/cases/{web.case_ref}", headers=HTML).text
    assert f'hx-get="/cases/{web.case_ref}/intel/deconfliction" hx-trigger="load"' in dashboard
    warnings = client.get(f"/cases/{web.case_ref}/intel/deconfliction", headers={"hx-request": "true"})
    assert warnings.status_code == 200
    text = warnings.text
    assert "Another agency works this email" in text and SHARED_EMAIL in text
    assert f"contact {PARTNER_AGENCY}, {PARTNER_CONTACT}" in text.replace("\n", " ")
    assert web.other_case_ref not in text  # the partner is the other agency; the store's own case stays unnamed
    assert "<script" not in text
    assert "intel.web.deconflict" in [a for a, _, _ in intel_actions(web)]
