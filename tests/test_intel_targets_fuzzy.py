"""Fuzzy record linkage (splink, DuckDB) on its own: the comparison columns of a record, the trained model
and its deterministic fallback. No store needed: these are pure functions of the records."""

from __future__ import annotations

import random

from haven.intel.targets.fuzzy import score_pairs
from haven.intel.targets.fuzzy_features import RecordFeatures, email_local, features, fold

FIRST = ["anna", "bruno", "chiara", "dmitri", "elif", "farid", "greta", "hamid", "ines", "jonas", "kasia", "lukas"]
LAST = ["smith", "novak", "garcia", "rossi", "dubois", "silva", "berg", "ivanova", "khan", "patel", "müller", "lee"]
STREETS = ["high street", "church road", "station road", "mill lane", "park avenue", "green way"]


def test_features_come_from_identifiers_and_recognised_columns() -> None:
    row = features(
        7,
        1,
        True,
        {"Last Name": "Müller", "First Name": "Zoë", "Street": "3 Rue Haute", "City": "Liège", "ZIP": "4000 "},
        [("phone", "+3242001122"), ("email", "Zoe.Muller+forum@example.be"), ("handle", "kik/zoe_m")],
    )
    assert (row.name, row.name_key, row.address, row.house, row.postcode) == (
        "zoe muller", "muller z", "3 rue haute liege", "3", "4000"
    )  # fmt: skip
    assert (row.email_local, row.username, row.phone, row.phone_tail) == ("zoemuller", "zoe_m", "3242001122", "2001122")
    assert features(1, 1, True, {"Name": "Smith, Jonathan"}, []).name == "jonathan smith"
    header = features(2, 1, True, {"From": '"Eve Sender" <eve@example.com>'}, [("email", "eve@example.com")])
    assert header.name == "eve sender"
    assert not features(3, 1, True, {"note": "nothing here"}, []).useful()
    assert fold("  Ｊöhn\u200b O'Brien ") == "john o brien" and email_local("j.o.b+x@y") == "job"


def people(seed: int) -> tuple[list[RecordFeatures], dict[int, int]]:
    """Each synthetic person is on a shop's list (e-mail), a forum's (phone) and in an SMS log (phone)."""
    rnd = random.Random(seed)
    rows: list[RecordFeatures] = []
    person_of: dict[int, int] = {}
    for person in range(120):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        house, street = rnd.randint(1, 150), rnd.choice(STREETS)
        postcode = f"AB{rnd.randint(1, 99)} {rnd.randint(1, 9)}XY"
        email, phone = f"{first}.{last}{rnd.randint(1, 999)}@example.org", f"+4416329{rnd.randint(10000, 99999)}"
        records = [
            ({"Name": f"{first} {last}", "Address": f"{house} {street}", "Postcode": postcode}, [("email", email)]),
            ({"first": first, "last": last, "street": f"{house} {street}", "zip": postcode}, [("phone", phone)]),
        ]
        sms_phone = phone if person % 2 else phone[:-1] + str((int(phone[-1]) + 1) % 10)  # a typo, half the time
        records.append(({"sender": f"{first[0]} {last}"}, [("phone", sms_phone)]))
        for fields, identifiers in records:
            uid = len(rows) + 1
            rows.append(features(uid, 1, True, fields, identifiers))
            person_of[uid] = person
    return rows, person_of


def test_trained_model_is_deterministic_and_finds_the_people() -> None:
    rows, person_of = people(5)
    first = score_pairs(rows, train_min_records=100)
    again = score_pairs(list(reversed(rows)), train_min_records=100)
    assert first.model == "trained" and again.model == "trained"
    assert first.pairs == again.pairs  # same data, any order: the same links and scores
    true_pairs = {(p.left, p.right) for p in first.pairs if person_of[p.left] == person_of[p.right]}
    assert len(true_pairs) >= 110  # of the 120 shop-forum pairs
    assert len(true_pairs) / len(first.pairs) >= 0.9


def test_small_data_uses_the_documented_priors_and_same_name_alone_is_not_a_link() -> None:
    rows, person_of = people(9)
    result = score_pairs(rows)  # under TRAIN_MIN_RECORDS
    assert result.model == "priors"
    precision = sum(person_of[p.left] == person_of[p.right] for p in result.pairs) / len(result.pairs)
    assert precision >= 0.95
    same_name = [
        features(1, 1, True, {"Name": "Anna Smith", "Address": "1 High Street"}, [("email", "a1@example.org")]),
        features(2, 1, True, {"Name": "Anna Smith", "Address": "77 Mill Lane"}, [("email", "zz@example.net")]),
    ]
    assert score_pairs(same_name).pairs == []
    untrainable = score_pairs(rows[:30], train_min_records=10)  # 10 people: no key gives 50 pairs to learn from
    assert untrainable.model.startswith("priors (too few pairs to train")
    assert untrainable.pairs == score_pairs(rows[:30]).pairs
