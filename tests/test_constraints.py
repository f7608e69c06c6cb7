"""The budget row of :mod:`optimiser.model.constraints`: amounts with more decimals than a
millionth are counted exactly (or rounded so a layout is never over the budget), so the
solvers and the verifier agree on what fits."""

from __future__ import annotations

import pytest

from optimiser.inputs.currency import exact_amount, total_within
from optimiser.model.constraints import money_scale, money_units
from optimiser.pipeline import run_scenario
from tests.sitefiles import write_files

# a workshop (required), one signalised crossing and one social space: 7-decimal costs whose
# nearest millionths (0.400000 + 0.200000 + 0.100000) add up to exactly 0.7
_WORKSHOP, _SIGNAL, _SOCIAL = 0.4000004, 0.2000004, 0.1000004


def _scenario(budget: float, signal: float = _SIGNAL, social: float = _SOCIAL, backend: str = "cpsat") -> dict:
    return {
        "budget_gbp": budget,
        "facilities": [{"type": "workshop", "count": {"min": 1, "max": 1}, "footprint_m2": 900, "min_spacing_m": 0,
                        "cost_gbp": _WORKSHOP, "candidate_spacing_m": 150}],
        "social_spaces": {"count": {"min": 0, "max": 1}, "cost_gbp": social, "coverage_radius_m": 300,
                          "coverage": "weighted", "candidate_spacing_m": 150, "noise_buffer_m": 40},
        "crossings": {"spacing_m": 200, "types": {"signalised": {"cost_gbp": signal, "penalty_m": 45}}},
        "solver": {"backend": backend, "time_limit_s": 20, "seed": 0, "workers": 1},
    }


def test_amounts_are_exact_decimals_as_written():
    assert exact_amount(0.4000004) * 10**7 == 4000004
    assert total_within([0.1, 0.2], 0.3)  # 0.1 + 0.2 > 0.3 in binary floating point
    assert not total_within([0.4000004, 0.2000004, 0.1000004], 0.7)
    assert total_within([0.4000004, 0.2000004, 0.1000004], 0.7000012)


def test_money_scale_makes_7_to_9_decimal_amounts_whole():
    assert money_scale([1_500_000, 400_000]) == 1
    assert money_scale([0.9, 0.45]) == 100
    assert money_scale([0.7, 0.4000004, 0.2000004]) == 10**7
    assert money_scale([0.7, 0.123456789]) == 10**9
    # a billionth of 4,000,000 is beyond MAX_MONEY_UNITS: a millionth, costs rounded up
    unit = money_scale([4_000_000, 0.123456789])
    assert unit == 10**5
    assert money_units(0.123456789, unit) == 12346 and money_units(4_000_000.000000009, unit, up=False) == 400_000_000_000


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_a_plan_a_few_millionths_over_the_budget_is_refused(tmp_path, backend):
    """Costs rounded to the nearest millionth let the solver spend 0.7000012 of a 0.7 budget;
    verification then failed on the solver's own plan (exit 1)."""
    _, scen = write_files(tmp_path / "in", **_scenario(0.7, backend=backend))
    res = run_scenario(scen, tmp_path / "run", render=False)
    assert res.verification is not None and res.verification.passed
    assert res.metrics.status == "optimal"
    assert res.metrics.cost.capital == pytest.approx(0.6000008)  # the social space no longer fits


@pytest.mark.parametrize(("signal", "social"), [(0.2000004, 0.1000004), (0.200000041, 0.100000003)])
def test_an_optimum_exactly_at_the_budget_is_found_and_verified(tmp_path, signal, social):
    budget = float(exact_amount(_WORKSHOP) + exact_amount(signal) + exact_amount(social))
    _, scen = write_files(tmp_path / "in", **_scenario(budget, signal, social))
    res = run_scenario(scen, tmp_path / "run", render=False)
    assert res.verification is not None and res.verification.passed
    assert res.metrics.cost.capital == pytest.approx(budget, abs=0)
    assert len(res.metrics.placements.social_spaces) == 1 and len(res.metrics.placements.crossings) == 1


def test_money_scale_keeps_the_budget_row_within_64_bits():
    """A budget near the 10**12 limit beside a cost of 0.000001 was counted in millionths: 60
    costs of 10**11 made a row CP-SAT refused ('Possible integer overflow', a SolverError). The
    row now takes the finest unit whose sum is whole in a double (2**53), rounding the millionth up."""
    amounts = [999_999_999_999.5] + [99_999_999_999.0] * 60 + [0.000001]
    unit = money_scale(amounts)
    assert unit == 1 and money_units(0.000001, unit) == 1 and money_units(999_999_999_999.5, unit, up=False) == 999_999_999_999
    assert money_scale([9_000_000_000.5, 0.000001]) == 10**6  # two amounts: millionths fit


def test_a_budget_near_the_limit_with_a_millionth_cost_is_solved(tmp_path):
    _, scen = write_files(tmp_path / "in", **{
        **_scenario(999_999_999_999.5, signal=0.000001, social=99_999_999_999.5),
        "facilities": [{"type": "workshop", "count": {"min": 1, "max": 30}, "footprint_m2": 100, "min_spacing_m": 0,
                        "cost_gbp": 99_999_999_999.0, "candidate_spacing_m": 60}]})
    res = run_scenario(scen, tmp_path / "run", render=False)
    assert res.verification is not None and res.verification.passed
    assert res.metrics.status in ("optimal", "feasible") and res.metrics.cost.capital <= 999_999_999_999.5


def test_cbc_does_not_spend_a_millionth_over_a_large_budget(tmp_path):
    """2 * 10**11 + 0.000001 against a 2 * 10**11 budget, in millionths: 2 * 10**17 + 1 units, which
    a double (CBC's row) cannot tell from 2 * 10**17. CBC built all three and verification failed
    (exit 1); the row is now in whole units there (the millionth rounded up to 1)."""
    big = 100_000_000_000.0
    _, scen = write_files(tmp_path / "in", **{
        **_scenario(2 * big, signal=0.000001, social=big, backend="cbc"),
        "facilities": [{"type": "workshop", "count": {"min": 1, "max": 1}, "footprint_m2": 900, "min_spacing_m": 0,
                        "cost_gbp": big, "candidate_spacing_m": 150}]})
    res = run_scenario(scen, tmp_path / "run", render=False)
    assert res.verification is not None and res.verification.passed
    assert not total_within([big, big, 0.000001], 2 * big)
