"""Fuzzy record linkage with splink (DuckDB backend): customer rows, database rows and e-mail header blocks
that describe one person without sharing an identifier (``j.smith+shop@`` and ``jsmith@``, a name and
address typed twice).

Input: the case's records AND every other case's records (``fuzzy_features``). Blocking keeps only pairs
sharing an e-mail local part, a username, the last 7 digits of a phone, a name key (surname + initial) or
a postcode, and with at least one side in the case: other cases are never compared with each other.
Comparisons: e-mail local part, username, name, phone, address, postcode (each with a null level, so a
missing column counts for nothing).

The model is deterministic. With fewer than ``TRAIN_MIN_RECORDS`` records, or when training fails, splink
runs with the fixed m/u priors in ``_comparisons``: they encode what an analyst would say (an equal name
alone is not enough, nor is a similar e-mail local part; name + address, name + postcode, or e-mail local
part + name is) and make the same data give the same links on every run. With enough data, u is estimated
by random sampling with a fixed seed and m by expectation maximisation on the blocking keys in
``EM_BLOCKS`` that give at least ``EM_MIN_PAIRS`` pairs, starting from those priors, with the prior match
probability held fixed; two such keys are needed (each session leaves its own key's comparison untrained),
and any failure means the priors (a failed session can leave the model half-updated). The name key is
deliberately not an EM block: inside
it most pairs share a common name without being one person, and EM then learns that a name alone is a
match (measured on a synthetic list of 1,050 records: precision fell from 77% to 16%). DuckDB runs on one
thread so sampling and sums do not vary with scheduling.

A pair scoring at least ``threshold`` (match probability) is a link when both records are in the case,
and a lead ("this customer also appears in case X") when one is in another case.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from haven.intel.targets.fuzzy_features import RecordFeatures

DEFAULT_THRESHOLD = 0.9
TRAIN_MIN_RECORDS = 1000
SEED = 7
U_SAMPLE_PAIRS = 1e6
PRIOR_MATCH = 1e-4
"""Probability that two random records are the same person, before any comparison."""
BLOCKING_KEYS = ("email_local", "username", "phone_tail", "name_key", "postcode")
EM_BLOCKS = ("postcode", "phone_tail", "email_local", "username")
EM_MIN_PAIRS = 50
BLOCK_MAX_RECORDS = 50
"""A blocking value shared by more records than this (a common surname + initial, a postcode district, an
``info@`` local part) generates no pairs: pairs grow with its square, and such a value says little. The
comparisons still see it; only candidate generation skips it."""


@dataclass(frozen=True, slots=True)
class ScoredPair:
    left: int  # record ids, left < right
    right: int
    probability: float


@dataclass(frozen=True, slots=True)
class FuzzyResult:
    pairs: list[ScoredPair]
    model: str  # "priors", "trained", or "priors (training failed: ...)"
    records: int


def _comparisons() -> list[Any]:
    import splink.comparison_library as cl

    # m: share of true matches at each level; u: share of non-matches. Levels after the null level, in order.
    return [
        cl.JaroWinklerAtThresholds("email_local", [0.95, 0.88]).configure(
            m_probabilities=[0.5, 0.2, 0.1, 0.2], u_probabilities=[1e-5, 1e-3, 1e-2, 0.98899]
        ),
        cl.JaroWinklerAtThresholds("username", [0.92]).configure(
            m_probabilities=[0.5, 0.2, 0.3], u_probabilities=[1e-5, 1e-4, 0.99989]
        ),
        cl.NameComparison("name", jaro_winkler_thresholds=[0.92, 0.88]).configure(
            m_probabilities=[0.6, 0.2, 0.1, 0.1], u_probabilities=[1e-3, 3e-3, 1e-2, 0.986]
        ),
        cl.LevenshteinAtThresholds("phone", [1, 2]).configure(
            m_probabilities=[0.7, 0.15, 0.05, 0.1], u_probabilities=[1e-6, 1e-5, 1e-4, 0.999889]
        ),
        _address_comparison().configure(
            m_probabilities=[0.5, 0.3, 0.1, 0.1], u_probabilities=[1e-5, 1e-4, 1e-2, 0.98989]
        ),
        cl.ExactMatch("postcode").configure(m_probabilities=[0.7, 0.3], u_probabilities=[1e-3, 0.999]),
    ]


def _address_comparison() -> Any:
    """Street addresses: Jaro-Winkler cannot tell "140 church road" from "131 church road" (0.92), so a
    similar address counts strongly only with the same house number; otherwise it is the same street."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    similar = 'jaro_winkler_similarity("address_l", "address_r") >= 0.88'
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address"),
            cll.CustomLevel(f'{similar} AND "house_l" = "house_r"', label_for_charts="similar, same number"),
            cll.CustomLevel(similar, label_for_charts="similar street"),
            cll.ElseLevel(),
        ],
    )


def _blocking_rules() -> list[Any]:
    return [f"l.block_{key} = r.block_{key} and (l.in_case = 1 or r.in_case = 1)" for key in BLOCKING_KEYS]


def _table(rows: list[RecordFeatures]) -> list[dict[str, Any]]:
    """The rows for DuckDB, with ``block_<key>`` columns: the key, or NULL where the value is too common."""
    counts = {key: Counter(getattr(row, key) for row in rows) for key in BLOCKING_KEYS}
    table = []
    for row in sorted(rows, key=lambda r: r.unique_id):
        values = row.row()
        for key in BLOCKING_KEYS:
            value = values[key]
            values[f"block_{key}"] = value if value is not None and counts[key][value] <= BLOCK_MAX_RECORDS else None
        table.append(values)
    return table


def score_pairs(
    rows: list[RecordFeatures], threshold: float = DEFAULT_THRESHOLD, *, train_min_records: int = TRAIN_MIN_RECORDS
) -> FuzzyResult:
    """Record pairs (at least one in the case) whose match probability is at least ``threshold``."""
    rows = [r for r in rows if r.useful()]
    if len(rows) < 2 or not any(r.in_case for r in rows):
        return FuzzyResult([], "priors", len(rows))
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    connection = duckdb.connect(":memory:")
    connection.execute("SET threads TO 1")
    try:
        db_api = DuckDBAPI(connection)
        records = _table(rows)
        table = db_api.register(records)
        linker = Linker(table, _settings(), log_level=None)
        model = "priors"
        if len(rows) >= train_min_records:
            model = _train(linker, block_on, records)
            if model != "trained":  # half-trained parameters are worse than the priors: start again from them
                linker = Linker(table, _settings(), log_level=None)
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        found = predictions.as_record_list()
    finally:
        connection.close()
    pairs = sorted(
        (
            ScoredPair(
                min(int(p["unique_id_l"]), int(p["unique_id_r"])),
                max(int(p["unique_id_l"]), int(p["unique_id_r"])),
                round(float(p["match_probability"]), 6),
            )
            for p in found
        ),
        key=lambda p: (p.left, p.right),
    )
    return FuzzyResult(pairs, model, len(rows))


def _settings() -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=_blocking_rules(),
        probability_two_random_records_match=PRIOR_MATCH,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


def _train(linker: Any, block_on: Any, records: list[dict[str, Any]]) -> str:
    """u by seeded random sampling, then m by EM on each blocking key with at least ``EM_MIN_PAIRS`` pairs.
    "trained" needs two EM sessions (each leaves its own key's comparison untrained); any failure (a
    failed session can leave the model half-updated) means the priors."""
    keys = [key for key in EM_BLOCKS if _pairs_sharing(records, f"block_{key}") >= EM_MIN_PAIRS]
    if len(keys) < 2:
        return f"priors (too few pairs to train: {', '.join(keys) or 'no blocking key'} has {EM_MIN_PAIRS}+)"
    try:
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=SEED)
        for key in keys:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(f"block_{key}"), fix_probability_two_random_records_match=True
            )
    except Exception as error:  # any training failure falls back to the documented priors
        return f"priors (training failed: {_first_line(error)})"
    return "trained"


def _pairs_sharing(records: list[dict[str, Any]], column: str) -> int:
    counts = Counter(record[column] for record in records)
    return sum(n * (n - 1) // 2 for value, n in counts.items() if value is not None)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__
