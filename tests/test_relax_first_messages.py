"""The message of a relax-first result that is not proven: "time limit reached" only when the
work limit ended it; when the reduced exact model is too large to run (``EXACT_MAX_LEVELS``) a
longer limit would not close the gap, and the message says so (an independent 56-firm site,
1,063,459 levels, ended at 2.07 % after 9 s of a 60 s limit and the same at 300 s, "time limit
reached")."""

from __future__ import annotations

import pytest

from optimiser.solve import relax_first as rf
from optimiser.solve.relax_first_settings import unproven_message
from optimiser.solve.result import Status
from tests.relax_district import relax_district, run_relax_first


@pytest.fixture(scope="module")
def district():
    return relax_district()


def test_the_message_says_why_it_ended():
    assert unproven_message(0.0123) == unproven_message(0.0123, None) == "time limit reached; gap 1.23%"
    text = unproven_message(0.0207, 1_063_459)
    assert text.startswith(f"gap 2.07%, not proven: the exact model is too large: 1,063,459 radius levels, over "
                           f"{rf.EXACT_MAX_LEVELS:,}; ")
    assert "time limit reached" not in text and "longer time limit would not close the gap" in text


def test_a_result_names_an_exact_model_too_large_to_run(district):
    r, res = run_relax_first(district, 0.2)  # not proven at 0.2 s: the work limit ended it
    assert res.status is Status.FEASIBLE and res.message.startswith("time limit reached; gap ")
    r.info["exact_skipped"] = "budget below its set-up"  # another reason: still the time limit
    assert r.finish("cpsat").message == res.message
    r.info["exact_too_large"] = 1_234_567
    again = r.finish("cpsat")
    assert (again.objective, again.bound, again.gap, again.stopped_by) == (res.objective, res.bound, res.gap, res.stopped_by)
    assert again.message.startswith(f"gap {100 * res.gap:.2f}%, not proven: the exact model is too large: 1,234,567")
