"""Identifiers that occur in one record (a customer row, an account's database row, an e-mail header
block: ``identifier_occurrence`` rows sharing ``(content_id, record)``) belong together.

Guards, so that a few shared values do not chain a whole case into one target:

- **Hub identifiers** link nothing. An identifier is a hub in a case when it occurs in more than
  ``max_records`` records (10), or when the records it occurs in hold more than ``max_neighbours`` (20)
  other distinct identifiers. A person's own e-mail or phone sits in a handful of records beside the same
  few other identifiers; a shop's support address, a free-mail domain, a platform URL or a NAT/VPN exit
  address sits in many records beside many different people. A hub stays an identifier of the case (and
  an analyst can still put it in a target); it only stops joining records together.
- **List-like records** link nothing: a record with more than ``max_record_identifiers`` (30) identifiers
  is a list (a JSON array of users, a mailing-list header block), not one person.
- **Recipients and servers** are not the sender: in an e-mail or newsgroup header block the To/Cc/Bcc
  addresses (and Delivered-To, X-Original-To, Envelope-To, Resent-To/Cc) are other people, and Path,
  Received, Message-ID, References, In-Reply-To, X-Complaints-To and Organization name the servers and
  services in between (a news server's abuse address is in every article it carried). Occurrences in those
  fields do not co-occur with the rest of the block; From, Sender, Reply-To, Return-Path, X-Originating-IP,
  NNTP-Posting-Host, X-Trace and Injection-Info do.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

RECIPIENT_FIELDS = frozenset(
    {"to", "cc", "bcc", "deliveredto", "xoriginalto", "envelopeto", "resentto", "resentcc", "resentbcc"}
)
SERVER_FIELDS = frozenset({"path", "received", "messageid", "references", "inreplyto", "xcomplaintsto", "organization"})
NOT_LINKING_FIELDS = RECIPIENT_FIELDS | SERVER_FIELDS


@dataclass(frozen=True, slots=True)
class HubRules:
    max_records: int = 10
    max_neighbours: int = 20
    max_record_identifiers: int = 30

    def describe(self) -> dict[str, int]:
        return {
            "max_records": self.max_records,
            "max_neighbours": self.max_neighbours,
            "max_record_identifiers": self.max_record_identifiers,
        }


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    identifier_id: int
    content_id: int
    record: str
    field: str | None
    path: str


Unit = tuple[int, str]
"""(content_id, record): the co-occurrence unit."""


@dataclass
class Cooccurrence:
    units: dict[Unit, list[int]] = field(default_factory=dict)
    """Linkable identifiers of each record (hubs and recipients left out), sorted."""
    paths: dict[Unit, str] = field(default_factory=dict)
    hubs: set[int] = field(default_factory=set)
    list_records: int = 0

    def edges(self) -> list[tuple[int, int, Unit]]:
        """A star per record (its first identifier to each other one): enough to join them, sorted."""
        found: list[tuple[int, int, Unit]] = []
        for unit in sorted(self.units):
            members = self.units[unit]
            found.extend((members[0], other, unit) for other in members[1:])
        return found


def field_key(name: str | None) -> str:
    """``"To"``, ``"header:To"``, ``"message.to"`` -> ``"to"``: the last part, letters and digits only."""
    if not name:
        return ""
    last = re.split(r"[:./]", name)[-1]
    return re.sub(r"[^0-9a-z]", "", last.lower())


def analyse(rows: list[OccurrenceRow], rules: HubRules | None = None) -> Cooccurrence:
    rules = rules or HubRules()
    per_unit: dict[Unit, set[int]] = defaultdict(set)
    paths: dict[Unit, str] = {}
    for row in rows:
        unit = (row.content_id, row.record)
        paths.setdefault(unit, row.path)
        if field_key(row.field) in NOT_LINKING_FIELDS:
            continue
        per_unit[unit].add(row.identifier_id)

    result = Cooccurrence(paths=paths)
    units = {}
    for unit, members in per_unit.items():
        if len(members) > rules.max_record_identifiers:
            result.list_records += 1
        else:
            units[unit] = members
    result.hubs = _hubs(units, rules)
    for unit, members in units.items():
        linkable = sorted(members - result.hubs)
        if linkable:
            result.units[unit] = linkable
    return result


def _hubs(units: dict[Unit, set[int]], rules: HubRules) -> set[int]:
    records: dict[int, int] = defaultdict(int)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for members in units.values():
        for identifier in members:
            records[identifier] += 1
            near = neighbours[identifier]
            if len(near) <= rules.max_neighbours:  # counting stops once it is a hub: memory stays bounded
                near.update(m for m in members if m != identifier)
    return {
        identifier
        for identifier, count in records.items()
        if count > rules.max_records or len(neighbours[identifier]) > rules.max_neighbours
    }


class AnchoredUnionFind:
    """Union-find where some elements belong to a fixed group (an analyst's locked target): a union that
    would join two different anchors is refused, so what an analyst split stays split."""

    def __init__(self, anchors: dict[int, int]) -> None:
        self.parent: dict[int, int] = {}
        self.anchor: dict[int, int] = {}  # root -> anchor id
        self.refused = 0
        first_of: dict[int, int] = {}
        for element, anchor in sorted(anchors.items()):
            self.add(element)
            if anchor in first_of:
                self._join(self.find(first_of[anchor]), self.find(element))
            else:
                first_of[anchor] = element
                self.anchor[element] = anchor

    def add(self, element: int) -> None:
        self.parent.setdefault(element, element)

    def find(self, element: int) -> int:
        self.add(element)
        root = element
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[element] != root:  # path compression
            self.parent[element], element = root, self.parent[element]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        anchor_a, anchor_b = self.anchor.get(ra), self.anchor.get(rb)
        if anchor_a is not None and anchor_b is not None and anchor_a != anchor_b:
            self.refused += 1
            return False
        self._join(ra, rb)
        return True

    def _join(self, ra: int, rb: int) -> None:
        keep, drop = (ra, rb) if ra < rb else (rb, ra)
        self.parent[drop] = keep
        anchor = self.anchor.pop(drop, None)
        if anchor is not None:
            self.anchor[keep] = anchor

    def groups(self) -> dict[int, list[int]]:
        found: dict[int, list[int]] = defaultdict(list)
        for element in sorted(self.parent):
            found[self.find(element)].append(element)
        return dict(found)

    def anchor_of(self, element: int) -> int | None:
        return self.anchor.get(self.find(element))
