"""The joint benchmark's district generator is deterministic, and a small district solves
and verifies on both backends with the same objective."""

from __future__ import annotations

from benchmarks.joint.generate import make_district
from optimiser.model.problem import ClientKey
from optimiser.pipeline import prepare
from optimiser.solve.strategy import solve
from optimiser.verify import verify


def _fingerprint(sc):
    site = sc.site
    return (
        [(f.id, f.employees, f.sector, f.location.wkt, tuple(e.wkt for e in f.entrances)) for f in site.firms],
        [(p.id, p.status.value, p.polygon.wkt) for p in site.parcels],
        [(b.id, b.centreline.wkt) for b in site.barriers],
        [(c.id, c.line.wkt) for c in site.crossings],
        sc.facilities,
        sc.crossings.spacing_m,
        sc.budget,
    )


def test_generator_is_deterministic_and_sized():
    a = make_district(30, 60, 12, 2, seed=7)
    b = make_district(30, 60, 12, 2, seed=7)
    c = make_district(30, 60, 12, 2, seed=8)
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)
    assert len(a.site.firms) == 30
    assert len(a.site.barriers) == 2
    prep = prepare(a)
    n_sites = sum(1 for d in prep.problem.decisions if d.kind == "facility")
    assert 50 <= n_sites <= 70
    assert 9 <= len(prep.network.candidates) <= 15


def test_small_district_both_backends_agree_and_verify():
    sc = make_district(10, 16, 6, 1, seed=1, budget_gbp=2_000_000.0)
    prep = prepare(sc)
    objs = {}
    for backend in ("cpsat", "cbc"):
        res = solve(prep.problem, backend, time_limit_s=30, seed=0, workers=1)
        assert res.status == "optimal", (backend, res.message)
        ver = verify(prep.problem, prep.context, res.chosen, res.objective)
        assert ver.passed
        objs[backend] = res.objective
    assert objs["cpsat"] == objs["cbc"]
    assert prep.problem.objective_of(set(solve(prep.problem, "cpsat", time_limit_s=30).chosen)) == objs["cpsat"]


def test_client_identities_are_typed_and_print_as_before():
    assert str(ClientKey.pair("a", "b")) == "pair:a|b"
    assert str(ClientKey.access("cafe_hub", "a")) == "access:cafe_hub:a"
    assert str(ClientKey.social("a")) == "social:a"
    assert ClientKey.pair("a", "b").subject == "a to b"
    sc = make_district(10, 16, 6, 1, seed=1, budget_gbp=2_000_000.0)
    prep = prepare(sc)
    firm_ids = {f.id for f in sc.site.firms}
    kinds = set()
    for c in prep.problem.clients:
        assert isinstance(c.key, ClientKey)
        assert c.key.kind == c.kind and c.key.firm in firm_ids
        if c.kind == "pair":
            assert c.key.other in firm_ids and c.key.facility_type is None
        else:
            assert c.key.other is None
        kinds.add(c.kind)
    assert {"pair", "access"} <= kinds
