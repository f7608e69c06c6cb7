"""Infeasibility explanations (:mod:`optimiser.solve.explain`) name real layouts: the cheapest
way to meet the other requirements keeps footprints apart, and a conflict that no budget
could resolve is not called a budget shortfall."""

from __future__ import annotations

import re

from optimiser.pipeline import run_scenario
from tests.sitefiles import write_files


def _facility(kind: str, count: int, footprint_m2: float, cost: float, spacing_m: float = 100) -> dict:
    return {"type": kind, "count": {"min": count, "max": count}, "footprint_m2": footprint_m2, "min_spacing_m": 0,
            "cost_gbp": cost, "candidate_spacing_m": spacing_m}


def _conflicts(tmp_path, **scenario) -> list[str]:
    _, scen = write_files(tmp_path / "in", **scenario)
    res = run_scenario(scen, None, render=False)
    assert res.metrics.status == "infeasible"
    return list(res.metrics.conflicts)


def test_the_cheapest_layout_named_puts_one_facility_on_a_site(tmp_path):
    """A workshop and a cafe (100 m squares) with a budget for only one: the layout the
    explanation priced put both on candidate site 2 of west_n, one on top of the other."""
    lines = _conflicts(tmp_path, budget_gbp=600_000,
                       facilities=[_facility("workshop", 1, 10_000, 400_000), _facility("cafe", 1, 10_000, 300_000)])
    assert len(lines) == 1 and lines[0].startswith("the budget (£600,000) is below £700,000, the cheapest way to meet")
    sites = re.findall(r"at (candidate site \d+ on parcel \w+)", lines[0])
    assert len(sites) == 2 and len(set(sites)) == 2, lines[0]


def test_counts_that_cannot_fit_are_not_blamed_on_the_budget(tmp_path):
    """Five workshops of 18,000 m2 fit nowhere without overlapping, and the budget pays for two:
    the explanation said the budget was below the cost of five overlapping workshops."""
    lines = _conflicts(tmp_path, budget_gbp=200_000, facilities=[_facility("workshop", 5, 18_000, 100_000, 50)])
    assert lines == ["these 2 requirements cannot all hold together, whatever the budget:",
                     "conflicting requirement: at least 5 new workshop facilities",
                     "conflicting requirement: placements may not overlap one another"]


def test_a_shortfall_under_a_cent_of_the_unit_is_written_apart(tmp_path):
    """A £404k workshop and a £400k budget written in millions (0.404, 0.4): the explanation said
    'the budget (£0.40) is below £0.40', two equal figures, since amounts are written to two
    decimals; the figures now carry the decimals that tell them apart."""
    lines = _conflicts(tmp_path, budget_gbp=0.4, facilities=[_facility("workshop", 1, 900, 0.404)])
    assert len(lines) == 1 and lines[0].startswith("the budget (£0.400) is below £0.404, the cheapest way to meet"), lines


def test_the_cheapest_cost_named_is_the_amounts_as_written(tmp_path):
    """Where the budget row rounds (a 0.000001 crossing beside amounts of 10**11: tenths, costs
    rounded up), the cheapest cost was read back from the rounded units: a workshop of
    99,999,999,999.25 was named as costing £99,999,999,999.30. It is now the chosen items' costs added
    exactly."""
    lines = _conflicts(tmp_path, budget_gbp=50_000_000_000,
                       facilities=[_facility("workshop", 1, 900, 99_999_999_999.25)],
                       crossings={"spacing_m": 200, "types": {"signalised": {"cost_gbp": 0.000001, "penalty_m": 45}}})
    assert len(lines) == 1 and lines[0].startswith(
        "the budget (£50,000,000,000) is below £99,999,999,999.25, the cheapest way to meet"), lines
