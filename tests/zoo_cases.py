"""The zoo of tiny sites whose optimum is found by brute force (shared by the solver tests).

The brute force enumerates every subset of the problem's decisions and scores it with the
independent verifier (plain Dijkstra on a rebuilt graph, constraints rechecked from the
scenario's own terms), sharing nothing with the route-option / radius formulation the
backends solve.
"""

from __future__ import annotations

import itertools

from shapely.geometry import LineString, Point, box

from optimiser.inputs.domain import (
    CountRange,
    Crossing,
    CrossingTypeSpec,
    DemandSpec,
    DirectnessTarget,
    FacilitySpec,
    ObjectiveWeights,
    Parcel,
    ParcelStatus,
    Scenario,
    Site,
    SocialSpaceSpec,
)
from optimiser.pipeline import prepare
from optimiser.verify import verify
from tests.sitezoo import HS2_BRIDGE, crossing_spec, rail_site, square_site, two_barrier_site

SIG = CrossingTypeSpec("signalised", 250_000, 45.0)
FB = CrossingTypeSpec("footbridge", 1_500_000, 30.0)


def _square(**kw) -> Site:
    s = square_site()
    fields = {**s.__dict__, "firms": tuple(f for f in s.firms if f.id != "e"), **kw}
    return Site(**fields)


def _scenario(site: Site, **kw) -> Scenario:
    base = dict(id="zoo", name="zoo", site=site, site_ref="zoo", budget=1_000_000,
                crossings=crossing_spec(300.0, types=(SIG,)))
    base.update(kw)
    return Scenario(**base)


def _open_space_site() -> Site:
    """The square with open-space strips north and south of the Parkway, middle third."""
    parcels = (
        Parcel("west", "West", ParcelStatus.BUILDABLE, box(0, 0, 300, 600)),
        Parcel("east", "East", ParcelStatus.BUILDABLE, box(700, 0, 1000, 600)),
        Parcel("south_green", "South green", ParcelStatus.OPEN_SPACE, box(300, 0, 700, 250)),
        Parcel("north_green", "North green", ParcelStatus.OPEN_SPACE, box(300, 350, 700, 600)),
    )
    return _square(parcels=parcels)


SOCIAL = dict(footprint_m2=400.0, noise_buffer_m=40.0, candidate_spacing_m=200.0, min_spacing_m=150.0, building_clearance_m=10.0)


def case_one_barrier_pairs():
    return _scenario(_square(), budget=600_000)


def case_budget_forbids_best():
    # footbridges are quicker but the budget only pays for signalised crossings
    return _scenario(_square(), budget=1_000_000, crossings=crossing_spec(300.0, types=(SIG, FB)))


def case_footbridge_affordable():
    return _scenario(_square(), budget=1_800_000, crossings=crossing_spec(300.0, types=(SIG, FB)))


def case_two_barriers():
    return _scenario(two_barrier_site(), layers={"hs2": True}, budget=800_000,
                     crossings=crossing_spec(400.0, types=(SIG, FB)))


def case_hs2_off():
    return _scenario(two_barrier_site(), layers={"hs2": False}, budget=800_000,
                     crossings=crossing_spec(400.0, types=(SIG, FB)))


def case_corridor_facility():
    fac = FacilitySpec("lab", CountRange(1, 1), 900.0, 0.0, 200_000, candidate_spacing_m=300.0)
    return _scenario(rail_site(), budget=2_000_000, facilities=(fac,), crossings=crossing_spec(300.0, types=(FB,)))


def case_facility_count_spacing():
    fac = FacilitySpec("workshop", CountRange(2, 2), 900.0, 500.0, 300_000, candidate_spacing_m=300.0)
    return _scenario(_square(), budget=900_000, facilities=(fac,), crossings=crossing_spec(450.0, types=(SIG,)))


def case_existing_facility():
    fac = FacilitySpec("canteen", CountRange(0, 1), 900.0, 0.0, 300_000, candidate_spacing_m=300.0,
                       existing=(Point(850, 560),))
    return _scenario(_square(), budget=600_000, facilities=(fac,), crossings=crossing_spec(450.0, types=(SIG,)))


def case_coverage_forces_social():
    soc = SocialSpaceSpec(CountRange(0, 2), 100_000, coverage_radius_m=350.0, coverage="hard", **SOCIAL)
    return _scenario(_open_space_site(), budget=700_000, social_spaces=soc, crossings=crossing_spec(450.0, types=(SIG,)))


def case_weighted_coverage():
    soc = SocialSpaceSpec(CountRange(0, 1), 100_000, coverage_radius_m=300.0, coverage="weighted", coverage_weight=400.0, **SOCIAL)
    return _scenario(_open_space_site(), budget=400_000, social_spaces=soc, crossings=crossing_spec(450.0, types=(SIG,)))


def case_directness_forces_crossing():
    # a-b are straight across the Parkway at x = 200; the junction is at x = 500
    return _scenario(_square(), budget=1_000_000, directness=(DirectnessTarget("a", "b", 1.5),),
                     objective=ObjectiveWeights(firm_pairs=0.0), crossings=crossing_spec(300.0, types=(SIG,)))


def case_explicit_demand():
    return _scenario(_square(), budget=300_000, demand=DemandSpec(rule="explicit", pairs=(("a", "d", 5.0), ("c", "b", 1.0))))


def case_optional_facility_unaffordable():
    # an optional facility type nobody can afford: every firm pays the unreachable penalty
    fac = FacilitySpec("lab", CountRange(0, 1), 900.0, 0.0, 2_000_000, candidate_spacing_m=300.0)
    return _scenario(_square(), budget=600_000, facilities=(fac,), crossings=crossing_spec(450.0, types=(SIG,)))


def case_infeasible_coverage_budget():
    soc = SocialSpaceSpec(CountRange(0, 2), 500_000, coverage_radius_m=350.0, coverage="hard", **SOCIAL)
    return _scenario(_open_space_site(), budget=400_000, social_spaces=soc, crossings=crossing_spec(450.0, types=(SIG,)))


def case_route_cap_binds():
    # no Parkway junction: the south-west quadrant (a) is reached only over new crossings; b -> c
    # and c -> d need both new crossings, which a cap of 1 forbids (they stay unreachable)
    site = Site(**{**two_barrier_site().__dict__, "crossings": (HS2_BRIDGE,)})
    explicit = (Crossing("pw-200", "Parkway at x=200", "parkway", "signalised", LineString([(200, 283), (200, 317)])),
                Crossing("hs2-100", "HS2 at y=100", "hs2", "signalised", LineString([(678, 100), (722, 100)])))
    return _scenario(site, layers={"hs2": True}, budget=600_000,
                     crossings=crossing_spec(0.0, types=(SIG,), explicit=explicit, max_route_crossings=1))


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def brute_force(prep) -> tuple[float | None, tuple[int, ...]]:
    """Best (objective, chosen) over every subset of decisions, scored independently."""
    n = len(prep.problem.decisions)
    best: tuple[float | None, tuple[int, ...]] = (None, ())
    for r in range(n + 1):
        for subset in itertools.combinations(range(n), r):
            v = verify(prep.problem, prep.context, subset, None, raise_on_failure=False)
            if v.passed and (best[0] is None or v.objective < best[0]):
                best = (v.objective, subset)
    return best


_PREPARED: dict[str, object] = {}
_BRUTE: dict[str, tuple] = {}


def prepared_case(name):
    """The prepared zoo case ``name`` and its brute-force (objective, chosen), built once."""
    if name not in _PREPARED:
        _PREPARED[name] = prepare(CASES[name]())
        prep = _PREPARED[name]
        assert len(prep.problem.decisions) <= 13, f"{name}: {len(prep.problem.decisions)} decisions is too many to enumerate"
        _BRUTE[name] = brute_force(prep)
    return _PREPARED[name], _BRUTE[name]
