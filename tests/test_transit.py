"""Transit stops chosen jointly with crossings (issue 20).

The tiny site is the zoo's square (tests/sitezoo.py: a 1000 x 600 m grid of footpaths split by a
Parkway at y = 300 with one junction at x = 500) with a tram alignment along y = 450 and an
existing stop at its east end. The brute force enumerates every crossing subset x every stop
subset within the budget, count, spacing and one-alignment rules, and scores each with the
independent verifier's graph (plain Dijkstra from every firm), sharing nothing with the
route-option / radius formulation the backends solve.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.geometry
import yaml
from shapely.geometry import LineString, Point, box

from optimiser.errors import ValidationError
from optimiser.inputs.domain import CountRange, ObjectiveWeights, Scenario, TransitLine, TransitSpec, TransitStop
from optimiser.inputs.scenario import read_scenario
from optimiser.pipeline import prepare, run_scenario
from optimiser.present import style
from optimiser.present.transit import network_catchment
from optimiser.solve.strategy import solve
from optimiser.solve.transit import solve_with_todays_crossings
from optimiser.verify import layout_graph, verify
from optimiser.verify_graph import walk_lengths_m
from tests.sitefiles import scenario_dict, site_dict, xy
from tests.sitezoo import crossing_spec
from tests.zoo_cases import SIG, _scenario, _square

BACKENDS = ("cpsat", "cbc")
ONE_OR_TWO = CountRange(1, 2)
TRAM = TransitLine("tram", "Tram", LineString([(0, 450), (1000, 450)]), (TransitStop("east", "East end", Point(1000, 450)),))
SOUTH = TransitLine("south", "Tram south", LineString([(0, 200), (1000, 200)]))


def tram_scenario(objective: str = "max_coverage", *, catchment_m: float = 500.0, budget: float = 450_000, lines=(TRAM,),
                  count: CountRange = ONE_OR_TWO, stop_spacing_m: float = 200.0, crossing_spacing_m: float = 100.0,
                  **kw) -> Scenario:
    spec = TransitSpec(count, 100_000, catchment_m=catchment_m, objective=objective, min_spacing_m=300.0,
                       candidate_spacing_m=stop_spacing_m, **kw)
    weights = ObjectiveWeights(0, 0, 0) if objective != "weighted" else ObjectiveWeights()
    return _scenario(_square(transit=tuple(lines)), transit=spec, budget=budget, objective=weights,
                     crossings=crossing_spec(crossing_spacing_m, types=(SIG,)))


def _feasible_stop_sets(prep, stops: list[int], budget_left: float):
    tr = prep.scenario.transit
    dec = prep.problem.decisions
    sites = {s.key: s for s in prep.context.stop_sites}
    for n in range(tr.count.min, tr.count.max + 1):
        for combo in itertools.combinations(range(len(stops)), n):
            chosen = [sites[dec[stops[k]].key] for k in combo]
            if sum(s.cost for s in chosen) > budget_left + 1e-6:
                continue
            if any(a.point.distance(b.point) < tr.min_spacing_m - 1e-6 for a, b in itertools.combinations(chosen, 2)):
                continue
            if tr.alternatives and len({s.type for s in chosen}) > 1:
                continue
            yield combo


def brute_force_transit(prep) -> dict[str, float]:
    """Best covered staff and least staff-weighted walk (capped at the unreachable penalty) over
    every feasible (crossings, stops), from the verifier's graph."""
    problem, ctx, sc = prep.problem, prep.context, prep.scenario
    dec = problem.decisions
    crossings = [i for i, d in enumerate(dec) if d.kind == "crossing"]
    stops = [i for i, d in enumerate(dec) if d.kind == "stop"]
    emp = np.array([f.employees for f in sc.site.firms], dtype=float)
    cap = sc.demand.unreachable_penalty_m
    best_cov, best_walk = -1.0, np.inf
    for k in range(len(crossings) + 1):
        for cs in itertools.combinations(crossings, k):
            spent = sum(dec[i].cost for i in cs)
            if spent > sc.budget + 1e-6:
                continue
            graph = layout_graph(ctx, cs)
            walks = walk_lengths_m(graph, ctx.firm_keys, [dec[i].key for i in stops] + list(ctx.existing_stop_keys))
            existing_cols = list(range(len(stops), walks.shape[1]))
            for combo in _feasible_stop_sets(prep, stops, sc.budget - spent):
                walk = walks[:, list(combo) + existing_cols].min(axis=1) if (combo or existing_cols) else np.full(len(emp), np.inf)
                best_cov = max(best_cov, float(emp[walk <= sc.transit.catchment_m + 1e-6].sum()))
                best_walk = min(best_walk, float(np.sum(emp * np.minimum(walk, cap))))
    return {"covered": best_cov, "walk": best_walk}


def _solve_verified(prep, backend: str):
    res = solve(prep.problem, backend, time_limit_s=20, seed=0, workers=1)
    assert res.status.has_solution
    ver = verify(prep.problem, prep.context, res.chosen, res.objective)
    return res, ver


@pytest.fixture(scope="module")
def coverage_case():
    prep = prepare(tram_scenario("max_coverage"))
    return prep, brute_force_transit(prep)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_coverage_matches_brute_force(coverage_case, backend):
    prep, best = coverage_case
    res, ver = _solve_verified(prep, backend)
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    covered = float(emp[ver.transit_walk_m <= 500.0 + 1e-6].sum())
    assert covered == best["covered"]
    assert res.objective == emp.sum() - best["covered"]  # the objective is the staff left uncovered
    kinds = {prep.problem.decisions[i].kind for i in res.chosen}
    assert "crossing" in kinds and "stop" in kinds  # the best answer needs a new crossing


@pytest.mark.parametrize("backend", BACKENDS)
def test_joint_never_covers_fewer_than_todays_crossings(coverage_case, backend):
    prep, best = coverage_case
    res, ver = _solve_verified(prep, backend)
    opts = prep.scenario.solver.replace(backend=backend, time_limit_s=20)
    today = solve_with_todays_crossings(prep.problem, opts)
    assert not any(prep.problem.decisions[i].kind == "crossing" for i in today.chosen)
    today_ver = verify(prep.problem, prep.context, today.chosen, today.objective)
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    joint = emp[ver.transit_walk_m <= 500.0 + 1e-6].sum()
    only_today = emp[today_ver.transit_walk_m <= 500.0 + 1e-6].sum()
    assert joint >= only_today
    assert joint > only_today  # on this site the new crossing widens the catchment across the Parkway


@pytest.fixture(scope="module")
def walk_case():
    prep = prepare(tram_scenario("min_mean_walk", budget=350_000, count=CountRange(1, 1)))
    return prep, brute_force_transit(prep)


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_mean_walk_matches_brute_force(walk_case, backend):
    prep, best = walk_case
    res, ver = _solve_verified(prep, backend)
    emp = np.array([f.employees for f in prep.scenario.site.firms], dtype=float)
    walk = float(np.sum(emp * np.minimum(ver.transit_walk_m, prep.scenario.demand.unreachable_penalty_m)))
    assert walk == pytest.approx(best["walk"], abs=1e-6)
    assert res.objective == pytest.approx(best["walk"] * prep.problem.length_scale_per_m, abs=len(emp))


@pytest.fixture(scope="module")
def weighted_case():
    prep = prepare(tram_scenario("weighted", budget=350_000, count=CountRange(1, 1), stop_spacing_m=250.0,
                                 crossing_spacing_m=250.0, weight=2.0))
    dec = prep.problem.decisions
    crossings = [i for i, d in enumerate(dec) if d.kind == "crossing"]
    stops = [i for i, d in enumerate(dec) if d.kind == "stop"]
    best = np.inf
    for k in range(2):
        for cs in itertools.combinations(crossings, k):
            for s in stops:
                chosen = (*cs, s)
                if sum(dec[i].cost for i in chosen) <= prep.scenario.budget:
                    best = min(best, verify(prep.problem, prep.context, chosen, None, raise_on_failure=False).objective)
    return prep, best


@pytest.mark.parametrize("backend", BACKENDS)
def test_weighted_matches_brute_force_of_whole_objective(weighted_case, backend):
    prep, best = weighted_case
    res, ver = _solve_verified(prep, backend)
    tol = sum(c.weight for c in prep.problem.clients) + 1
    assert abs(ver.objective - best) <= tol
    assert any(c.key.facility_type == "transit:stop" for c in prep.problem.clients if not isinstance(c.key, str))


@pytest.mark.parametrize("backend", BACKENDS)
def test_alternative_alignments_take_one(backend):
    prep = prepare(tram_scenario("max_coverage", lines=(TRAM, SOUTH), count=CountRange(2, 2), budget=200_000))
    res, ver = _solve_verified(prep, backend)
    lines = {prep.problem.decisions[i].key for i in res.chosen}
    on = {s.type for s in prep.context.stop_sites if s.key in lines}
    assert len(on) == 1
    assert any(c.name == "one alignment" and c.passed for c in ver.checks)


def test_no_platform_zone_and_bands_hold_no_candidate():
    sc = tram_scenario(no_platform=(box(0, 400, 450, 500),))
    prep = prepare(sc)
    xs = sorted(s.point.x for s in prep.context.stop_sites)
    assert xs == [500.0, 700.0, 900.0]  # 100 and 300 lie in the no-platform zone


def test_catchment_follows_the_network_and_grows_with_a_crossing():
    prep = prepare(tram_scenario())
    ctx = prep.context
    key = "existing:stop:east"
    before, len_before = network_catchment(layout_graph(ctx, ()), key, 300.0)
    # the stop (1000, 450) joins the grid at x = 1000; within 300 m: 50 + 250 north-south and along y = 400 / 500
    assert before.length == pytest.approx(len_before)
    assert not before.buffer(1).contains(Point(1000 - 299, 450))  # not a circle: off-street points are not in it
    crossing = next(i for i, d in enumerate(prep.problem.decisions)
                    if d.kind == "crossing" and ctx.network.candidates[next(c for c, dd in ctx.crossing_decision.items() if dd == i)]
                    .line.interpolate(0.5, normalized=True).x > 900)
    after, len_after = network_catchment(layout_graph(ctx, (crossing,)), key, 300.0)
    assert len_after > len_before
    assert after.intersects(box(0, 0, 1000, 285))  # reaches south of the Parkway only with the crossing
    assert not before.intersects(box(0, 0, 1000, 285))


def test_pipeline_metrics_and_layout(tmp_path):
    sc = tram_scenario()
    r = run_scenario(sc, tmp_path / "run", render=False)
    t = r.metrics.transit
    assert t is not None and r.verification is not None and r.verification.passed
    assert t.covered_employees >= t.covered_employees_existing_crossings_only >= t.covered_employees_today
    assert t.stops and all(s.line == "tram" for s in t.stops)
    assert t.crossings
    from optimiser.present.buys import item_names
    from optimiser.present.layers import placement_tags
    from optimiser.present.report import transit_view

    tags, names = placement_tags(r.metrics), item_names(r.metrics)  # the section's prose names them as the plan does
    assert transit_view(r.metrics)["crossings"] == "; ".join(f"{tags[c]} {names.get(c, c)}" for c in t.crossings)
    assert all(tags[c].startswith("X") for c in t.crossings)
    cost = r.metrics.cost
    assert t.capital > 0 and t.capital == pytest.approx(sum(s.cost for s in t.stops))
    assert cost.transit_stops == pytest.approx(t.capital)
    assert cost.capital == pytest.approx(cost.crossings + cost.facilities + cost.social_spaces + cost.transit_stops)
    data = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(data["transit"]) >= {"stops", "catchment_m", "covered_employees", "covered_employees_existing_crossings_only",
                                    "mean_walk_m"}
    features = json.loads((tmp_path / "run" / "layout.geojson").read_text())["features"]
    layers = [f["properties"]["layer"] for f in features]
    assert layers.count("transit_catchment") == 2 * (len(t.stops) + 1)  # each stop, before and after
    for f in features:  # RFC 7946's right-hand rule (the catchments came out of shapely.normalize clockwise)
        for poly in shapely.get_parts(shapely.geometry.shape(f["geometry"])):
            if poly.geom_type == "Polygon":
                assert poly.exterior.is_ccw and not any(r.is_ccw for r in poly.interiors), f["properties"]


def test_the_report_lists_new_stops_among_the_placements():
    """A run that builds one stop and no crossing said "Nothing placed: the baseline layout is
    already the best" under Placements: the table left new stops out."""
    from optimiser.present.report import placements_table

    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), None, render=False)
    t = r.metrics.transit
    assert t is not None and len(t.stops) == 1 and not t.crossings
    table = placements_table(r.metrics)
    [row] = table.rows
    texts = [c.text for c in row]
    assert texts[0] == "T1" and texts[1] == "Transit stop" and t.stops[0].id in texts and "stop on tram" in texts, texts


def test_the_interactive_plan_draws_the_alignment_and_the_stops(tmp_path):
    """The report's interactive plan (and compare.html's) drew no alignment and no stop: a tram
    run's first map showed only the crossings."""
    from optimiser.present.interactive import map_view
    from optimiser.present.rundir import load_run

    r = run_scenario(tram_scenario(), tmp_path / "run", render=False)
    t = r.metrics.transit
    assert t is not None and t.stops
    view = map_view(load_run(tmp_path / "run"))
    assert view.svg.count('class="transit-line"') == 1
    assert view.svg.count('class="stop"') == len(t.stops) and view.svg.count('class="stop existing-stop"') == 1
    assert f'data-id="{t.stops[0].id}"' in view.svg and "Existing stop: East end" in view.svg
    assert {"Transit alignment", "New stop", "Existing stop"} <= {item.label for item in view.legend}


def test_stops_no_walk_reaches_are_named_in_the_conflict():
    """An alignment beyond a river with no path on its far side: every candidate stop is left
    out, and the infeasibility said only "(only 0 candidate stops)", not why."""
    from optimiser.inputs.domain import Barrier, BarrierKind

    river = Barrier("river", "River", BarrierKind.WATER, LineString([(-100, 700), (1100, 700)]), 20.0)
    far = TransitLine("far", "Far line", LineString([(0, 800), (1000, 800)]))
    site = _square(transit=(far,))
    sc = replace(tram_scenario(lines=(far,)), site=replace(site, barriers=(*site.barriers, river)))
    r = run_scenario(sc, None, render=False)
    assert r.status == "infeasible"
    [why] = r.solve.conflicts
    assert "only 0 candidate stops; 5 more on the alignments reach no walkable path" in why, why


def test_too_few_stops_on_a_short_line_names_the_spacing():
    """A 1 km line with candidate_spacing_m 600 holds one candidate stop; at least two asked:
    the conflict blamed skipped points in bands and zones, none of which there is."""
    sc = tram_scenario(count=CountRange(2, 2), stop_spacing_m=600.0, budget=2_000_000)
    r = run_scenario(sc, None, render=False)
    assert r.status == "infeasible"
    why = " ".join(r.solve.conflicts)
    assert "only 1 candidate stop; the alignments' 1,000 m hold only 1 at candidate_spacing_m 600 m: lower " \
           "candidate_spacing_m" in why, why


def test_too_few_stops_where_points_are_skipped_says_how_many():
    from shapely.geometry import box

    sc = tram_scenario(count=CountRange(3, 3), budget=2_000_000, no_platform=(box(-10, 400, 650, 500),))
    r = run_scenario(sc, None, render=False)
    assert r.status == "infeasible"
    why = " ".join(r.solve.conflicts)
    assert "only 2 candidate stops; 3 of the 5 points along the alignments fall in barrier bands, exclusion zones, " \
           "buildings or no_platform zones and are skipped" in why, why


def test_a_crossing_is_relied_on_by_the_firms_it_takes_to_a_stop(tmp_path):
    """A crossing chosen to bring staff within a stop's catchment had firms_relying 0 and the
    report said "Relied on by: N firm pairs" only, as if no firm's walk to the stop used it."""
    from optimiser.present.buys import buys_table
    from optimiser.present.rundir import load_run

    r = run_scenario(tram_scenario(), tmp_path / "run", render=False)
    crossings = [a for a in r.metrics.attribution if a.kind == "crossing"]
    assert crossings and all(a.firms_relying >= 1 for a in crossings), crossings
    table = buys_table(load_run(tmp_path / "run"))
    assert table is not None
    col = [h.text for h in table.headers].index("Relied on by")
    relied = [row[col].text for row in table.rows if row[1].text in {a.name for a in crossings}]
    assert relied and all(" walks to a facility, social space or stop" in t for t in relied), relied


def test_metrics_without_transit_have_no_key():
    r = run_scenario(replace(tram_scenario(), transit=None, site=_square()), None, render=False)
    assert r.metrics.transit is None
    assert "transit" not in r.metrics.to_json_dict()


def _files_with_transit(folder, transit: dict, site_transit: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    site = site_dict()
    if site_transit:
        site["transit"] = [{"id": "tram", "name": "Tram", "geometry": {"type": "LineString", "coordinates": [xy(0, 450), xy(1000, 450)]},
                            "stops": [{"id": "t0", "location": xy(1000, 450)}]}]
    (folder / "site.yaml").write_text(yaml.safe_dump(site))
    scen = folder / "scenario.yaml"
    scen.write_text(yaml.safe_dump(scenario_dict(transit=transit)))
    return scen


def test_scenario_file_reads_transit(tmp_path):
    scen = _files_with_transit(tmp_path / "a", {"count": {"min": 1, "max": 2}, "cost_gbp": 1000000, "catchment_m": 800,
                                          "objective": "weighted", "weight": 0.5, "no_platform": [
                                              {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}]})
    sc = read_scenario(scen)
    assert sc.transit is not None and sc.transit.catchment_m == 800 and sc.transit.objective == "weighted"
    assert sc.transit.count == CountRange(1, 2) and len(sc.transit.no_platform) == 1
    assert [t.id for t in sc.transit_lines] == ["tram"] and sc.site.transit[0].stops[0].id == "t0"


def test_scenario_file_transit_problems(tmp_path):
    scen = _files_with_transit(tmp_path / "a", {"count": 1, "cost_gbp": 1000, "lines": ["nope"]})
    with pytest.raises(ValidationError) as exc:
        read_scenario(scen)
    fields = [p.field for p in exc.value.problems]
    assert "transit.lines[0]" in fields
    assert "transit.objective" in fields  # max_coverage beside the tiny scenario's facilities
    scen = _files_with_transit(tmp_path / "b", {"count": 1, "cost_gbp": 1000, "objective": "weighted"}, site_transit=False)
    with pytest.raises(ValidationError) as exc:
        read_scenario(scen)
    assert [p.field for p in exc.value.problems] == ["transit"]


def test_empty_or_repeated_lines_are_reported(tmp_path):
    """`lines: []` ran and was infeasible ("only 0 candidate stops"); a repeated line passed."""
    for name, lines, want in (("a", [], ("transit.lines", "names no alignment", "'tram'")),
                              ("b", ["tram", "tram"], ("transit.lines[1]", "named twice", "once"))):
        scen = _files_with_transit(tmp_path / name, {"count": 1, "cost_gbp": 1000, "objective": "weighted", "lines": lines})
        with pytest.raises(ValidationError) as exc:
            read_scenario(scen)
        [p] = exc.value.problems
        assert (p.field, want[1] in p.reason, want[2] in (p.hint or "")) == (want[0], True, True), p


def test_brute_force_values_are_not_trivial(coverage_case, walk_case):
    prep, best = coverage_case
    emp = sum(f.employees for f in prep.scenario.site.firms)
    # today the east stop covers d (200 staff); the best stops and crossing reach more, not everyone
    assert 200 < best["covered"] < emp
    assert np.isfinite(walk_case[1]["walk"])


@pytest.mark.slow
def test_plan_catchment_figure_and_report(tmp_path):
    out = tmp_path / "run"
    r = run_scenario(tram_scenario(), out, render=True)
    t = r.metrics.transit
    assert t is not None
    svg = (out / "plan.svg").read_text()
    new = t.stops[0].id
    assert f'id="transit-stop-{new}"' in svg
    assert f'id="catchment-{new}-before"' in svg and f'id="catchment-{new}-after"' in svg
    catch = (out / "catchment.svg").read_text()
    assert f'id="before-catchment-{new}-before"' in catch and f'id="after-catchment-{new}-after"' in catch
    html = (out / "report.html").read_text()
    assert 'id="transit"' in html and 'id="catchment-img"' in html and 'id="transit-table"' in html
    assert f"{t.covered_employees_existing_crossings_only:,}" in html and f"{t.covered_employees:,}" in html


def test_verifier_catches_a_coverage_the_model_would_not_give(coverage_case):
    prep, _ = coverage_case
    res, ver = _solve_verified(prep, "cpsat")
    assert any(c.name == "transit coverage" and c.passed for c in ver.checks)
    # a model that claims every firm covered (no penalty left) disagrees with the verifier's walks
    lying = replace(prep.problem, penalties=[])
    bad = verify(lying, prep.context, res.chosen, None, raise_on_failure=False)
    assert not bad.passed and any(c.name == "transit coverage" and not c.passed for c in bad.checks)


def test_the_transit_table_documents_the_keys_the_code_reads(tmp_path):
    """constraints/README.md's transit table listed cost_gbp only, which a EUR scenario refuses:
    the table names every key TransitIn takes, and its example reads in a EUR scenario."""
    import re
    from pathlib import Path

    from optimiser.inputs.schema import TransitIn

    text = (Path(__file__).resolve().parents[1] / "constraints" / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### `transit`\n"):]
    section = section[:section.index("\n### ")]
    rows = dict(re.findall(r"^\| `(\w+)` \|(.*)$", section, flags=re.M))
    assert set(rows) == set(TransitIn.model_fields) - {"cost_gbp"}  # cost_gbp: the GBP spelling of cost
    assert "(or `cost_gbp`)" in rows["cost"] and "in `currency`" in rows["cost"]
    example = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[0])["transit"]
    example.pop("no_platform")  # in AMP-SBP's coordinates, not this site's

    def in_euros(transit: dict) -> Path:
        scen = _files_with_transit(tmp_path / f"eur{len(list(tmp_path.iterdir()))}", transit)
        d = yaml.safe_load(scen.read_text().replace("cost_gbp", "cost").replace("budget_gbp", "budget"))
        d["currency"] = "EUR"
        d["transit"]["objective"] = "weighted"  # beside the tiny scenario's facilities
        scen.write_text(yaml.safe_dump(d))
        return scen

    sc = read_scenario(in_euros(example))
    assert sc.currency == "EUR" and sc.transit is not None and sc.transit.cost == 800_000
    scen = in_euros(example)
    bad = yaml.safe_load(scen.read_text())
    bad["transit"]["cost_gbp"] = bad["transit"].pop("cost")
    scen.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValidationError) as exc:
        read_scenario(scen)
    assert [p.field for p in exc.value.problems] == ["transit.cost_gbp"]


def test_cli_log_gives_the_coverage_objective_in_staff(tmp_path):
    """max_coverage's objective is the staff left outside every catchment: the log said
    "objective 120 weighted m"."""
    import subprocess
    import sys

    from tests.test_futures import MINI_SITE, MINI_TRAM_FUTURES

    (tmp_path / "site.yaml").write_text(MINI_SITE)
    single = MINI_TRAM_FUTURES.split("futures:")[0].replace("catchment_m: 600", "catchment_m: 300")
    (tmp_path / "sc.yaml").write_text(single)
    r = subprocess.run([sys.executable, "-m", "optimiser", "run", str(tmp_path / "sc.yaml"), "--out", str(tmp_path / "run"),
                        "--no-render", "--time-limit", "10"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # 300 m: a (50) and b (120) can be covered from the south road, c and d (120) cannot
    assert "solve: optimal" in r.stderr and "objective 120 staff outside every catchment" in r.stderr, r.stderr
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["transit"]["covered_employees"] == 170 and m["transit"]["total_employees"] == 290


@pytest.mark.parametrize("objective", ["max_coverage", "min_mean_walk"])
def test_the_report_leads_with_the_transit_objective_and_counts_coverage_savings_in_staff(objective):
    """A coverage run's summary led with the walk between firms (0.0 % reduction: not its
    objective) and its "What each item buys" said every stop saves 0.0 m; it now leads with the
    staff within the catchment (or the mean walk to a stop) and counts each stop's saving in staff."""
    from optimiser.present.buys import buys_table
    from optimiser.present.layers import RunData, layout_from_features
    from optimiser.present.report import summary_cards

    r = run_scenario(tram_scenario(objective), None, render=False)
    m, t = r.metrics, r.metrics.transit
    cards = summary_cards(m)
    if objective == "max_coverage":
        assert cards[0].key == "Staff within 500 m of a stop"
        assert cards[0].value == f"{t.covered_employees:,} of {t.total_employees:,}"
        assert f"today {t.covered_employees_today:,}" in cards[0].sub
    else:
        assert cards[0].key == "Mean walk to a stop" and "today" in cards[0].sub
    assert "not this run's objective" in cards[1].sub and "Coverage" not in [c.key for c in cards]
    from optimiser.present.plan import plan_title

    line = plan_title(m)[1]  # the plan's summary line leads with the same (it said "Weighted mean walk ... (no change)")
    if objective == "max_coverage":
        assert line.startswith(f"{t.covered_employees:,} of {t.total_employees:,} staff within 500 m of a stop (today ")
    else:
        assert line.startswith("Mean walk to a stop ") and "Weighted mean walk" not in line
    stops = [a for a in m.attribution if a.kind == "stop"]
    assert stops and all(a.saving_weighted_m > 0 for a in stops)
    table = buys_table(RunData(Path("unused"), m, layout_from_features([], m.site.crs)))
    headers = [h.text for h in table.headers]
    rows = {row[1].text: row for row in table.rows}
    for a in stops:
        row = rows[a.name]
        assert row[0].text.startswith("T") and row[0].text[1:].isdigit()
        if objective == "max_coverage":  # staff: the objective's own units, not metres of walk
            assert row[3].text == f"{a.saving_weighted_m:,.0f}" and row[4].text.endswith("per staff")
        else:
            assert row[3].text == f"{a.saving_m:,.1f}"
    assert headers[3] == ("Saves (staff within a catchment)" if objective == "max_coverage" else "Saves (m of objective mean)")
    # what the saving is made of in walks: beside a walk objective only (a coverage run's columns were all '–')
    assert ("Firm-pair walk saved (m)" in headers) is (objective != "max_coverage")
    assert len(headers) == len(next(iter(rows.values())))
    from optimiser.present.buys import compare_buys_table

    both = compare_buys_table([RunData(Path("a"), m, layout_from_features([], m.site.crs))] * 2)  # the compare page too
    assert ("Firm-pair walk saved (m)" in [h.text for h in both.headers]) is (objective != "max_coverage")
    assert all(len(row) == len(both.headers) for row in both.rows)


def test_a_new_stop_has_one_name_in_the_report_and_in_compares_built_row():
    """compare's Built row named a new stop 'stop 2 on tram' (the decision's generated label, with
    the alignment's id), the transit section 'Tram stop 2': the attribution, the report's tables,
    the plan's key and compare now all say 'Tram stop 2' (the alignment's name). Run directories
    written before (attribution 'stop 2 on tram') are shown with the transit section's name too."""
    from optimiser.present.buys import buys_table, item_names
    from optimiser.present.compare import built_text
    from optimiser.present.layers import RunData, layout_from_features
    from optimiser.present.report import placements_table, transit_view

    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), None, render=False)
    m = r.metrics
    [stop] = m.transit.stops
    number = stop.id.split(":")[-1]
    assert stop.name == f"Tram stop {number}"
    assert [a.name for a in m.attribution if a.kind == "stop"] == [stop.name]
    assert built_text(m) == stop.name
    [row] = placements_table(m).rows
    assert row[2].text == stop.name
    assert [c.text for c in transit_view(m)["stops"].rows[0]][2] == stop.name
    # the section's prose named the stops of the today's-crossings solve by id ('stop:2')
    today = m.transit.stops_existing_crossings_only
    assert transit_view(m)["today_stops"] == "; ".join(
        f"T1 {stop.name}" if s.id == stop.id else s.name for s in today) and "stop:" not in transit_view(m)["today_stops"]
    run = RunData(Path("unused"), m, layout_from_features([], m.site.crs))
    assert [row[1].text for row in buys_table(run).rows] == [stop.name]
    old = m.model_copy(deep=True)  # metrics.json as written before: the generated label in the attribution
    for a in old.attribution:
        a.name = f"stop {number} on tram" if a.kind == "stop" else a.name
    assert item_names(old)[stop.id] == built_text(old) == stop.name
    assert placements_table(old).rows[0][2].text == stop.name


def test_the_plan_numbers_the_new_stops_keys_them_and_greys_the_alignment_not_taken(tmp_path):
    """Every new stop was marked 'T' on the plan (three alike on AMP-SBP's tram run), none was in
    the key's 'Built in this scenario', and the alternative alignment the plan did not take was
    drawn as the chosen one: stops are now T1, T2 ... on the map, in the key (name, cost,
    position) and in the report's tables, and an alignment with no new stop is grey and thin."""
    from optimiser.present.layers import placement_tags
    from optimiser.present.plan import plan_figure
    from optimiser.present.plan_key import key_sections
    from optimiser.present.rundir import load_run

    r = run_scenario(tram_scenario(lines=(TRAM, SOUTH), count=CountRange(2, 2), budget=200_000, alternatives=True),
                     tmp_path / "run", render=False)
    stops = r.metrics.transit.stops
    assert len(stops) == 2 and len({s.line for s in stops}) == 1
    tags = placement_tags(r.metrics)
    assert [tags[s.id] for s in stops] == ["T1", "T2"]
    run = load_run(tmp_path / "run")
    built = next(s for s in key_sections(run.layout, run.metrics, tags) if s.title.startswith("Built"))
    assert [(e.tag, e.text.split(" · ")[0]) for e in built.entries] == [("T1", stops[0].name), ("T2", stops[1].name)]
    fig = plan_figure(run)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts if t.get_text() in ("T", "T1", "T2")) == ["T1", "T2"]
    taken, other = (("tram", "south") if stops[0].line == "tram" else ("south", "tram"))
    colour = {ln.get_gid(): ln.get_color() for ln in ax.lines if (ln.get_gid() or "").startswith("transit-line-")}
    assert colour[f"transit-line-{taken}"] == style.TRANSIT_C and colour[f"transit-line-{other}"] == style.UNUSED_ALIGNMENT_C
    labels = [h.get_label() for h in fig.legends[0].legend_handles] if fig.legends else []
    labels += [t.get_text() for leg in [a.get_legend() for a in fig.axes] if leg for t in leg.get_texts()]
    assert "Alternative alignment (no new stop on it)" in labels
    from optimiser.present.interactive import map_view

    view = map_view(run)  # the report's interactive plan says the same
    assert view.svg.count('class="transit-line unused"') == 1 and view.svg.count('class="transit-line"') == 1
    assert ">T1</text>" in view.svg and ">T2</text>" in view.svg and 'class="tag t-stop"' in view.svg
    assert f"New stop T1: {stops[0].name}" in view.svg
    assert "Alternative alignment (no new stop on it)" in {item.label for item in view.legend}


def test_relied_on_by_says_one_firm_and_one_pair_in_the_singular():
    from types import SimpleNamespace

    from optimiser.present.buys import _relying

    def said(kind, pairs, firms):
        return _relying(SimpleNamespace(kind=kind, pairs_using=pairs, firms_relying=firms))

    assert said("stop", 0, 1) == "1 firm" and said("stop", 0, 9) == "9 firms"
    assert said("crossing", 1, 1) == "1 firm pair, 1 firm's walks to a facility, social space or stop"
    assert said("crossing", 3, 2) == "3 firm pairs, 2 firms' walks to a facility, social space or stop"
    assert said("crossing", 0, 0) == "0 firm pairs"


def test_the_catchment_figure_says_which_stops_each_count_is_for():
    """The left panel draws the plan's stops with today's crossings while the heading's second
    count is a separate solve's best stops for today's crossings: said so, and wrapped to the figure."""
    from optimiser.present.transit_plan import _catchment_title

    r = run_scenario(tram_scenario(), None, render=False)
    title = _catchment_title(r.metrics)
    assert "with the best stops for today's crossings only (a separate solve, not drawn)" in " ".join(title.split())
    assert all(len(line) <= 150 for line in title.splitlines())


def test_counts_in_conflicts_are_singular_for_one():
    from optimiser.model.constraints import counted

    assert counted(1, "new lab facility", "new lab facilities") == "1 new lab facility"
    assert counted(3, "new lab facility", "new lab facilities") == "3 new lab facilities"
    assert counted(1, "candidate stop") == "1 candidate stop" and counted(0, "candidate stop") == "0 candidate stops"
    assert counted(1200, "social space") == "1,200 social spaces"


def test_a_distance_map_where_no_walk_changes_says_so_once(tmp_path):
    """A stops-only layout changes no walk between firms: the map said 'N: no change' beside every
    firm; it now labels the firms by number and says it once."""
    import matplotlib

    matplotlib.use("Agg")
    from optimiser.present.distance import distance_figure
    from optimiser.present.rundir import load_run

    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), tmp_path / "run", render=False)
    assert not r.metrics.transit.crossings  # a stop only: no walk between firms changes
    fig = distance_figure(load_run(tmp_path / "run"))
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert not any("no change" in t for t in texts), texts
    assert sum("No firm's walk to the others changes" in t for t in texts) == 1
    assert any("catchment map" in t for t in texts)
    # and no colour bar of -1 m to +1 m for changes there are none of
    assert not [ax for ax in fig.axes if ax.get_ylabel().startswith("Change in")], [ax.get_ylabel() for ax in fig.axes]


def test_plan_and_catchment_legends_name_what_is_drawn_and_nothing_else(tmp_path):
    """The plan drew the existing stop (a white square) with no legend entry; the catchment
    figure's legend listed 'New crossing (right panel)' when none was built (AMP-SBP tram)."""
    import matplotlib

    matplotlib.use("Agg")
    from optimiser.present.plan import plan_figure
    from optimiser.present.rundir import load_run
    from optimiser.present.transit_plan import catchment_figure

    def labels(fig) -> list[str]:
        return [t.get_text() for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg is not None
                for t in leg.get_texts()]

    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), tmp_path / "run", render=False)
    assert r.metrics.transit is not None and not r.metrics.transit.crossings  # a stop, no crossing
    data = load_run(tmp_path / "run")
    assert "Existing stop" in labels(plan_figure(data))  # East end, on the map
    catch = labels(catchment_figure(data.layout, data.metrics))
    assert "New crossing (right panel)" not in catch
    assert {"Transit alignment", "New stop (T1, T2 ... as on the plan)", "Existing stop", "Firm",
            "Existing crossing / junction"} <= set(catch)
    r2 = run_scenario(tram_scenario(), tmp_path / "run2", render=False)
    assert r2.metrics.transit is not None and r2.metrics.transit.crossings
    data2 = load_run(tmp_path / "run2")
    assert "New crossing (right panel)" in labels(catchment_figure(data2.layout, data2.metrics))


def test_report_caption_draws_no_routes_it_does_not_show(tmp_path):
    """A stops-only run's report captioned its plan 'Dashed black: walking route before; solid
    blue: after, for the most improved firm pairs' though the plan drew no route (AMP-SBP tram)."""
    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), tmp_path / "run", render=True)
    assert r.metrics.transit is not None and not r.metrics.transit.crossings
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Dashed black: walking route before" not in html
    assert "No walk between firms is shortened, so no routes are drawn." in html


def test_interactive_plan_offers_toggles_only_for_layers_it_draws(tmp_path):
    """The interactive plan of a stops-only run offered 'Routes before', 'Routes after' and
    'Coverage' checkboxes that switched nothing (AMP-SBP tram): a map offers the layers it draws."""
    from optimiser.present.interactive import map_view
    from optimiser.present.rundir import load_run
    from tests.runfixture import make_run_dir

    r = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), tmp_path / "run", render=False)
    assert r.metrics.transit is not None and not r.metrics.transit.crossings
    view = map_view(load_run(tmp_path / "run"))
    layers = [layer for layer, _ in view.toggles]
    assert "route_before" not in layers and "route_after" not in layers and "coverage" not in layers, layers
    assert "labels" in layers and "candidates" in layers  # candidate crossings are drawn (hidden at first)
    full = map_view(load_run(make_run_dir(tmp_path / "synthetic")))
    assert {"route_before", "route_after", "coverage", "candidates", "labels"} <= {layer for layer, _ in full.toggles}


def test_the_catchment_heading_wraps_a_long_scenario_name():
    """A scenario named at the 200-character limit ran the catchment figure's heading off the figure."""
    from optimiser.present.transit_plan import _catchment_title

    r = run_scenario(tram_scenario(), None, render=False)
    m = r.metrics.model_copy(deep=True)
    m.scenario.name = ("Tram option B with the southern loop and two new Parkway crossings, phased " * 3)[:200]
    title = _catchment_title(m)
    assert all(len(line) <= 150 for line in title.splitlines()), title
    assert " ".join(title.split()).startswith(" ".join(m.scenario.name.split()) + ": walking catchments")


def test_the_maps_hold_every_new_stop_but_not_a_far_existing_one(tmp_path):
    """A new stop chosen on an alignment beyond the parcels fell outside the plan's default
    extent (the extent was parcels, firms, facilities, social spaces and crossings only): a
    decision of the run not on its map. A far existing stop still does not stretch the map."""
    from shapely.affinity import translate

    from optimiser.present.layers import default_extent
    from optimiser.present.rundir import load_run

    run_scenario(tram_scenario(), tmp_path / "run", render=False)
    layout = load_run(tmp_path / "run").layout
    before = default_extent(layout)
    new = next(f for f in layout.layer("transit_stop") if f.text("status") == "new")
    old = next(f for f in layout.layer("transit_stop") if f.text("status") == "existing")
    new.geometry = translate(new.geometry, 0, 1500)  # 1.5 km north of the site
    old.geometry = translate(old.geometry, 3000, 0)  # 3 km east
    x0, y0, x1, y1 = default_extent(layout)
    nx, ny = new.geometry.x, new.geometry.y
    assert x0 <= nx <= x1 and y0 <= ny <= y1, ((nx, ny), (x0, y0, x1, y1))
    assert x1 < old.geometry.x and x1 == pytest.approx(before[2])

def test_the_interactive_maps_tooltip_says_a_coverage_runs_saving_in_staff():
    """The report's table says what an item of a max_coverage run saves in staff (15355f7), but
    the interactive map's tooltip still said 'saves 0.0 m of weighted mean walk' for it (saving_m
    is 0 there: no walk is in the objective)."""
    from types import SimpleNamespace

    from optimiser.present.interactive import _attribution_text
    from optimiser.present.metrics import ItemAttribution

    a = ItemAttribution(id="x1", name="X1", kind="crossing", cost=600_000.0, saving_m=0.0, saving_weighted_m=300.0)

    def run(objective):
        return SimpleNamespace(metrics=SimpleNamespace(attribution=[a], currency="GBP",
                                                       transit=SimpleNamespace(objective=objective)))

    assert _attribution_text(run("max_coverage"), "x1") == "\nsaves 300 staff within a catchment, £2k per staff"
    walk = a.model_copy(update={"saving_m": 12.5})
    assert _attribution_text(SimpleNamespace(metrics=SimpleNamespace(attribution=[walk], currency="GBP", transit=None)),
                             "x1") == "\nsaves 12.5 m of weighted mean walk, £48k per m"


def test_what_each_item_buys_defines_saves_once_in_the_runs_units():
    """A coverage run's "What each item buys" said "saves is how much the objective's weighted
    mean walk rises without it (metres). Cost per metre saved = cost ÷ saving." and then the unit
    note's "saves is how many more staff would be outside every catchment": two definitions that
    disagree. The metres one is said only where the saving is in metres."""
    from types import SimpleNamespace

    from optimiser.present.buys import buys_unit_note
    from optimiser.present.report import template_env
    from optimiser.present.tables import Table

    page = template_env().get_template("buys.html.j2")
    note = buys_unit_note(SimpleNamespace(transit=SimpleNamespace(objective="max_coverage")))
    staff = page.render(buys_table=Table([]), buys_unit_note=note)
    assert "is how many more staff would be outside every catchment" in staff
    assert "(metres)" not in staff and "Cost per metre" not in staff
    assert "Each item is removed alone" in staff and "Breaks a requirement" in staff
    metres = page.render(buys_table=Table([]), buys_unit_note=None)
    assert "rises without it (metres per unit of weight" in metres and "cost per metre saved = cost ÷ saving." in metres
    assert "Breaks a requirement" in metres and "not the firm-pair mean walk of the headline" in metres


def test_siteopt_run_summary_gives_a_coverage_runs_savings_in_staff(tmp_path):
    """siteopt run's JSON on stdout gave every stop of a max_coverage run 'saving_m': 0.0 (the
    objective counts staff, not metres): the items now say what they save in the run's unit."""
    from optimiser.cli.run_cmd import run_summary

    res = run_scenario(tram_scenario(budget=100_000, count=CountRange(1, 1)), tmp_path / "run", render=False)
    items = run_summary(res)["attribution"]
    assert items and all(a["saving_unit"] == "staff" and a["saving_m"] == 0.0 for a in items)
    staff = {a.id: a.saving_weighted_m for a in res.metrics.attribution}
    assert [a["saving"] for a in items] == [staff[a["id"]] for a in items] and max(staff.values()) > 0
    walk = run_summary(run_scenario(tram_scenario("min_mean_walk", budget=100_000, count=CountRange(1, 1)),
                                    tmp_path / "walk", render=False))["attribution"]
    assert walk and all(a["saving_unit"] == "m" and a["saving"] == a["saving_m"] for a in walk)
