"""Issue 16 (and issue 13 point 6): what each item buys, honest comparisons, progress on stderr,
no machine paths in the outputs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from optimiser import progress
from optimiser.model.demand import pair_weights
from optimiser.pipeline import run_scenario
from optimiser.present.compare import comparability, metric_rows, run_title
from optimiser.present.rundir import load_run
from optimiser.solve.result import Status
from optimiser.verify import verify
from tests.sitefiles import scenario_dict, write_files


def _decision_of(res, item_id: str) -> int:
    keys = {d.key: i for i, d in enumerate(res.prepared.problem.decisions)}
    return keys.get(item_id, keys.get(f"crossing:{item_id}"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny site solved with firm-to-firm walking AND facility access in the objective."""
    _, scen = write_files(tmp_path_factory.mktemp("in"))
    return run_scenario(scen, None, render=False)


def test_attribution_one_entry_per_built_item_saving_recomputed_by_removing_it(tiny_run) -> None:
    res = tiny_run
    m, prep = res.metrics, res.prepared
    assert res.status is Status.OPTIMAL
    built = [p.id for p in m.placements.shared_facilities + m.placements.social_spaces + m.placements.crossings]
    assert sorted(a.id for a in m.attribution) == sorted(built) and len(built) >= 2
    problem = prep.problem
    chosen = set(res.solve.chosen)
    sc = prep.scenario
    firms = list(sc.site.firms)
    w = pair_weights(firms, sc.demand)
    # the objective's total weight, from the scenario (not from the code under test)
    total_w = sum(w[a, b] for a, b in prep.context.pair_index) * sc.objective.firm_pairs
    total_w += sum(f.employees * spec.access_weight * sc.objective.facility_access for spec in sc.facilities for f in firms)
    for a in m.attribution:
        i = _decision_of(res, a.id)
        assert problem.decisions[i].cost == a.cost
        assert a.name and ":" not in a.name and a.name != a.id
        # the model's own evaluation of the layout without the item (another code path than the verifier)
        rise = problem.objective_of(chosen - {i}) - problem.objective_of(chosen)
        per_weighted_m = problem.length_scale_per_m * problem.weight_scale["all"]
        assert a.saving_weighted_m == pytest.approx(rise / per_weighted_m, abs=0.5 + 1e-6 * a.saving_weighted_m)
        assert a.saving_m == pytest.approx(rise / per_weighted_m / total_w, rel=5e-3, abs=0.01)
        assert a.saving_m >= 0
        assert a.cost_per_m_saved is None or a.cost_per_m_saved == pytest.approx(a.cost / a.saving_m)
    assert m.model["objective_total_weight"] > 0
    assert m.objective_mean_m is not None and m.baseline_objective_mean_m >= m.objective_mean_m


def test_crossing_saving_is_the_rise_of_the_weighted_mean_walk_between_firms(tmp_path: Path) -> None:
    # firm-to-firm walking only: saving_m must equal the rise of walk.optimised_weighted_mean_m
    # when the crossing alone is removed, computed here from the verifier's walks
    _, scen = write_files(tmp_path, objective={"firm_pairs": 1.0, "facility_access": 0.0, "social_access": 0.0},
                          social_spaces={**scenario_dict()["social_spaces"], "coverage": "off"})
    res = run_scenario(scen, None, render=False)
    prep, m = res.prepared, res.metrics
    crossings = [a for a in m.attribution if a.kind == "crossing"]
    assert crossings, "the tiny site builds a crossing"
    ctx = prep.context
    a_idx = np.array([a for a, _ in ctx.pair_index])
    b_idx = np.array([b for _, b in ctx.pair_index])

    def mean_walk(chosen) -> float:
        v = verify(prep.problem, ctx, tuple(sorted(chosen)), None, raise_on_failure=False)
        return float(np.sum(ctx.pair_w * v.pair_lengths_m[a_idx, b_idx]) / np.sum(ctx.pair_w))

    chosen = set(res.solve.chosen)
    assert mean_walk(chosen) == pytest.approx(m.walk.optimised_weighted_mean_m, abs=0.06)
    for a in crossings:
        i = _decision_of(res, a.id)
        assert a.saving_m == pytest.approx(mean_walk(chosen - {i}) - mean_walk(chosen), abs=0.01)
        assert a.saving_m > 0 and a.pairs_using > 0
        assert a.top_pairs and all(p.rise_m is None or p.rise_m > 0 for p in a.top_pairs)


# ------------------------------------------------------------------ compare: honest marks
def _runs(synthetic_run, n: int = 3):
    return [load_run(synthetic_run(f"r{i}", variant=i)) for i in range(n)]


def test_no_best_mark_for_a_run_without_a_layout(synthetic_run) -> None:
    runs = _runs(synthetic_run)
    runs[1].metrics.status = Status.INFEASIBLE
    runs[1].metrics.cost.capital = 0.0
    rows = metric_rows(runs)
    cost = next(best for row, _, best in rows if row.label == "Capital cost")
    assert 1 not in cost and cost  # the £0 of an infeasible run is not "best"
    assert all(1 not in best for _, _, best in rows)
    assert run_title(runs[1]).startswith("INFEASIBLE")
    assert any("Without a layout" in n for n in comparability(runs).notes)


def test_no_best_marks_across_different_baselines_or_sites(synthetic_run) -> None:
    runs = _runs(synthetic_run)
    assert comparability(runs).marks
    runs[2].metrics.walk.baseline_weighted_mean_m = (runs[0].metrics.walk.baseline_weighted_mean_m or 0) + 120.0
    comp = comparability(runs)
    assert not comp.marks and any("different baselines" in n for n in comp.notes)
    assert all(not best for _, _, best in metric_rows(runs))
    runs = _runs(synthetic_run)
    runs[1].metrics.site.id, runs[1].metrics.site.name = "fremont", "Fremont Innovation District"
    comp = comparability(runs)
    assert not comp.same_site and not comp.marks and any("different sites" in n for n in comp.notes)
    assert all(not best for _, _, best in metric_rows(runs))


def test_runs_of_different_sites_get_their_own_extents(synthetic_run) -> None:
    from shapely.affinity import translate

    from optimiser.present.compare import compare_figure
    from optimiser.present.layers import default_extent

    a, b = _runs(synthetic_run, 2)
    for f in b.layout.features:  # a second site 20 km east
        f.geometry = translate(f.geometry, xoff=20_000.0)
    b.metrics.site.id = "elsewhere"
    fig, plans, _ = compare_figure([a, b])
    for run, ax in zip((a, b), plans, strict=True):
        x0, _, x1, _ = default_extent(run.layout)
        assert ax.get_xlim() == pytest.approx((x0, x1))
    b.metrics.site.id = a.metrics.site.id  # one site: one shared extent (the union)
    fig, plans, _ = compare_figure([a, b])
    assert plans[0].get_xlim() == pytest.approx(plans[1].get_xlim())
    assert plans[0].get_xlim()[1] - plans[0].get_xlim()[0] > 20_000


# ------------------------------------------------------------------ progress and paths
def test_progress_heartbeat_reports_incumbent_and_gap(monkeypatch, caplog) -> None:
    monkeypatch.setattr(progress, "HEARTBEAT_S", 0.05)
    progress.enable(True)
    try:
        with caplog.at_level(logging.INFO, logger=progress.PROGRESS_LOGGER):
            with progress.solving(10.0, "solve: test"):
                progress.incumbent(2000.0, None, "greedy")
                time.sleep(0.2)
                progress.incumbent(1500.0, 1200.0, "cpsat")
                progress.incumbent(1500.0, None, "a warm start re-found")  # no better: the credit stays
                time.sleep(0.2)
    finally:
        progress.enable(False)
    lines = [r.getMessage() for r in caplog.records if r.name == progress.PROGRESS_LOGGER]
    assert lines[0] == "solve: test"
    assert any("incumbent 200 weighted m (greedy), no bound yet" in ln for ln in lines)
    assert any("incumbent 150 weighted m (cpsat), gap 20.00%" in ln for ln in lines)
    assert not any("re-found" in ln for ln in lines)
    assert len(lines) >= 5


@pytest.mark.slow
def test_siteopt_run_progress_on_stderr_json_on_stdout_report_path_last(tmp_path: Path) -> None:
    _, scen = write_files(tmp_path / "in")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "optimiser", "run", str(scen), "--out", str(out)], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "optimal" and summary["attribution"]
    lines = r.stderr.strip().splitlines()
    for phase in ("read:", "walk network:", "problem:", "solve: cpsat", "solve: optimal", "verify: passed",
                  "attribution:", "render:"):
        assert any(ln.startswith(f"siteopt: {phase}") for ln in lines), (phase, lines)
    assert lines[-1] == f"siteopt: report: {out / 'report.html'}"
    # no absolute path of this machine inside the outputs
    for name in ("metrics.json", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert str(tmp_path) not in text and "/home/" not in text, name
    q = subprocess.run([sys.executable, "-m", "optimiser", "-q", "run", str(scen), "--out", str(tmp_path / "q"),
                        "--no-render"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert q.returncode == 0 and q.stderr == "" and json.loads(q.stdout)["status"] == "optimal"


# ------------------------------------------------------------------ labels on both embedded sites
@pytest.mark.parametrize("site_file", ["sites/amp_sbp/site.yaml", "sites/fremont/site.yaml"])
def test_map_labels_never_overlap_on_the_embedded_sites(site_file: str) -> None:
    import math as _math

    from shapely.ops import unary_union

    from optimiser.inputs import read_site
    from optimiser.present.interactive import _overlap, _text_box, place_labels

    root = Path(__file__).resolve().parents[1]
    site = read_site(root / site_file)
    x0, y0, x1, y1 = unary_union([p.polygon for p in site.parcels]).bounds
    u = max(x1 - x0, y1 - y0) / 160
    emp_max = max(f.employees for f in site.firms)
    anchors = [(f.location.x, f.location.y) for f in site.firms]
    radii = [u * (1.0 + 2.6 * _math.sqrt(f.employees / emp_max)) for f in site.firms]
    texts = [str(n) for n in range(1, len(anchors) + 1)]
    spots = place_labels(anchors, radii, texts, 3.0 * u)
    boxes = [_text_box(s.x, s.y, t, 3.0 * u) for s, t in zip(spots, texts, strict=True)]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert _overlap(boxes[i], boxes[j]) == 0, (site_file, texts[i], texts[j])
    # stable: the same site gives the same positions (numbers follow the site file's order)
    assert place_labels(anchors, radii, texts, 3.0 * u) == spots


def test_buys_says_what_a_coverage_saving_counts(synthetic_run):
    """A transit max_coverage run's savings are coverage, not metres; walking runs say nothing extra."""

    from optimiser.present.buys import buys_unit_note
    from optimiser.present.rundir import load_run

    assert buys_unit_note(load_run(synthetic_run("w")).metrics) is None
    for objective, says in (("max_coverage", True), ("min_mean_walk", False), ("weighted", False)):
        note = buys_unit_note(SimpleNamespace(transit=SimpleNamespace(objective=objective)))
        assert (note is not None and "not metres" in note) is says


def test_cost_per_unit_saved_is_in_whole_currency_units():
    """compare's 'What each item buys' said '£229.30 per m' for AMP-SBP's cafe hub beside '£6k per
    m' and '£32k per m': a cost divided by a saving has no pence. From 10 up it is whole units
    ('£229 per m'); below, as money is written ('£4.50 per staff'); thousands as before."""
    from optimiser.present.buys import per_unit_text

    assert per_unit_text(400_000, 1744.4, "GBP", "m") == "£229 per m"
    assert per_unit_text(1_200_000, 195.9, "GBP", "m") == "£6k per m"
    assert per_unit_text(450, 100.0, "GBP", "staff") == "£4.50 per staff"
    assert per_unit_text(2_000, 100.0, "USD", "m") == "$20 per m"


def _objective_parts(problem, chosen: set[int]) -> dict[str, int]:
    """The model's own objective (``Problem.lengths_of``) split by walk term: firm pairs, access to
    each facility type, and the penalties (coverage)."""
    lengths, penalty = problem.lengths_of(chosen)
    parts: dict[str, int] = {"penalty": penalty}
    for c, length in zip(problem.clients, lengths, strict=True):
        k = c.key.kind if c.key.kind != "access" else f"access:{c.key.facility_type}"
        parts[k] = parts.get(k, 0) + c.weight * length
    return parts


def test_attribution_says_what_its_saving_is_made_of(tiny_run) -> None:
    # saving_m mixes firm pairs, facility access and the coverage penalty: each entry's
    # pair_walk_m, access and staff_uncovered are checked here against the model's own objective
    # (Problem.lengths_of) split by term, with and without the item
    res = tiny_run
    m, problem, sc = res.metrics, res.prepared.problem, res.prepared.scenario
    chosen = set(res.solve.chosen)
    ref = _objective_parts(problem, chosen)
    weight = {"pair": 0}
    for c in problem.clients:
        k = c.key.kind if c.key.kind != "access" else f"access:{c.key.facility_type}"
        weight[k] = weight.get(k, 0) + c.weight
    scale = problem.length_scale_per_m
    kinds = set()
    for a in m.attribution:
        kinds.add(a.kind)
        wo = _objective_parts(problem, chosen - {_decision_of(res, a.id)})
        pair_rise = (wo["pair"] - ref["pair"]) / (scale * weight["pair"])
        assert (a.pair_walk_m or 0.0) == pytest.approx(pair_rise, abs=0.02)
        changes = {c.type: c for c in a.access}
        for spec in sc.facilities:
            key = f"access:{spec.type}"
            rise = (wo[key] - ref[key]) / (scale * weight[key])
            if abs(rise) < 0.05:
                assert spec.type not in changes
                continue
            c = changes[spec.type]
            assert c.without_m - c.with_m == pytest.approx(rise, abs=0.15)
        staff = (wo["penalty"] - ref["penalty"]) / problem.units_per_weighted_m / sc.social_spaces.coverage_weight
        assert a.staff_uncovered == pytest.approx(staff, abs=0.5)
        if a.kind == "facility":  # the only workshop: none left without it, every walk at the penalty
            c = changes[a.type]
            assert a.pair_walk_m == 0 and a.saving_m > 100
            assert c.without_m == sc.demand.unreachable_penalty_m
            assert c.staff_unreached == sum(f.employees for f in sc.site.firms)
    assert {"facility", "crossing"} <= kinds


def test_buys_table_names_the_pair_walk_and_the_facility_walks(tiny_run, tmp_path: Path) -> None:
    from optimiser.present.buys import _pair_walk_cell, buys_table, other_walks_text

    m = tiny_run.metrics
    fac = next(a for a in m.attribution if a.kind == "facility")
    c = fac.access[0]
    assert other_walks_text(fac) == (f"workshop {c.with_m:,.0f} → 10,000 m ({c.staff_unreached:,} staff reach none, "
                                     "each counted at the 10,000 m unreachable penalty)")
    run = SimpleNamespace(metrics=m, layout=None)
    table = buys_table(run)
    heads = [h.text for h in table.headers]
    assert heads[3:7] == ["Saves (m of objective mean)", "Cost per m saved", "Firm-pair walk saved (m)",
                          "Walk to facilities, coverage"]
    row = next(r for r in table.rows if r[1].text.startswith("Workshop"))
    assert row[5].text == "–" and row[6].text == other_walks_text(fac)
    crossing = next(a for a in m.attribution if a.kind == "crossing")
    row = next(r for r in table.rows if r[1].text == crossing.name)
    assert row[5].text == f"{crossing.pair_walk_m:.1f}" and crossing.pairs_disconnected == 0
    cut = crossing.model_copy(update={"pairs_disconnected": 2})  # pairs with no walk at all without it: said
    assert _pair_walk_cell(cut).text == f"{crossing.pair_walk_m:.1f} (2 pairs cut off)"


def test_attribution_builds_the_pair_arrays_once_with_the_same_figures(tiny_run, monkeypatch) -> None:
    """_pair_walk_rise rebuilt the firm pairs' index arrays (a Python list per pair, twice) for
    every built item; they are now built once per report. The figures are unchanged: each entry's
    pair_walk_m is the old per-item computation's, and the whole attribution is the run's."""
    from optimiser.present import attribution

    res = tiny_run
    prep, problem, ctx = res.prepared, res.prepared.problem, res.prepared.context
    ver = res.verification
    built = []
    real = attribution._pair_arrays
    monkeypatch.setattr(attribution, "_pair_arrays", lambda p: built.append(p) or real(p))
    again, _ = attribution.attribute_items(prep, res.solve.chosen, ver, prep.verifier_base)
    assert len(again) >= 2 and len(built) == 1
    assert again == res.metrics.attribution  # the report's table is made from these: unchanged

    def old_rise(with_m, without_m):  # session 26's per-item computation
        a_idx = np.array([a for a, _ in ctx.pair_index], dtype=int)
        b_idx = np.array([b for _, b in ctx.pair_index], dtype=int)
        w = np.asarray(ctx.pair_w, dtype=float)
        after, before = with_m[a_idx, b_idx], without_m[a_idx, b_idx]
        both = np.isfinite(after) & np.isfinite(before)
        return round(float(np.sum(w[both] * (before[both] - after[both])) / np.sum(w[both])), 2)

    chosen = tuple(sorted(set(res.solve.chosen)))
    for i, a in zip(chosen, again, strict=True):
        without = verify(problem, ctx, tuple(j for j in chosen if j != i), None, raise_on_failure=False,
                         base=prep.verifier_base)
        assert a.pair_walk_m == old_rise(ver.pair_lengths_m, without.pair_lengths_m)
