"""Issue 13, points 3 and 4: currencies and barrier kinds.

Currencies: a scenario's ``currency`` (ISO 4217, default GBP) with unsuffixed ``budget`` / ``cost``
fields beside the first format's pounds-only ``*_gbp`` ones; every file of today's format still
validates; money is written with the run's symbol or code. Barrier kinds: the new kinds and the
old names, crossing types at grade or not (never at grade over a motorway, on both backends), and
the site's crossing rules bounding what a scenario may offer.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from shapely.geometry import LineString

from optimiser.batch.spec import expand_batch
from optimiser.errors import ValidationError
from optimiser.inputs.crossing_rules import generated_id_pattern
from optimiser.inputs.currency import money_compact, money_short, money_text
from optimiser.inputs.domain import Barrier, BarrierKind, CrossingTypeSpec
from optimiser.inputs.formats import load_mapping
from optimiser.inputs.scenario import read_scenario, scenario_from_mapping
from optimiser.inputs.site import read_site
from optimiser.inputs.validate import detect_kind, validate_files
from optimiser.network.crossings import generate_candidate_crossings
from optimiser.pipeline import prepare, run_scenario
from optimiser.present.basemap import barrier_label, draw_base
from optimiser.present.layers import Feature, barrier_legend_label, layout_from_features
from optimiser.solve.strategy import solve
from tests.sitefiles import scenario_dict, site_dict, write_files
from tests.zoo_cases import FB, SIG, _scenario, _square, brute_force

ROOT = Path(__file__).resolve().parents[1]
DATA_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".geojson"}


def _problems(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, tuple[str, str]]:
    return {p.field: (p.reason, p.hint) for p in exc.value.problems}


# ------------------------------------------------------------------ every file of today's format


def _data_files() -> list[Path]:
    """Every site, scenario and batch file under tests/ and constraints/ meant to be valid."""
    found = []
    for folder in (ROOT / "tests", ROOT / "constraints"):
        for p in sorted(folder.rglob("*")):
            if p.suffix not in DATA_SUFFIXES or p.name in ("schema.json", "expected.yaml"):  # not inputs
                continue
            if p.name.endswith(".site.yaml"):
                continue  # a GeoJSON site's sidecar: validated with its GeoJSON
            if p.parent.name == "bad_files" and not p.name.startswith("ok_"):
                continue  # the bad-file corpus: tests/test_validation.py checks what each says
            found.append(p)
    return found


@pytest.mark.slow
def test_every_file_of_todays_format_validates_unchanged():
    files = _data_files()
    kinds: dict[str, int] = {}
    for path in files:
        data, problems = load_mapping(path)
        assert data is not None and not problems, f"{path}: {problems}"
        fmt = str(data.get("format", ""))
        if fmt.startswith("placemaking-batch"):
            items = expand_batch(path)
            for it in items:
                scenario_from_mapping(it.scenario, base_path=it.base_path, name=f"{path.name}:{it.name}")
            kinds["batch"] = kinds.get("batch", 0) + 1
            continue
        assert validate_files([path]) == [], path
        kind = detect_kind(data)
        kinds[kind] = kinds.get(kind, 0) + 1
    # AMP-SBP (4 scenarios, 1 batch), Fremont (1 scenario), goldens (3 sites + 3 scenarios), ok_* (2)
    assert kinds["scenario"] >= 8 and kinds["site"] >= 4 and kinds["batch"] >= 1, kinds


@pytest.mark.slow
def test_gbp_files_keep_pounds_and_their_figures():
    sc = read_scenario(ROOT / "constraints/amp_sbp/baseline.yaml")
    assert sc.currency == "GBP" and sc.budget == 4_000_000
    assert [f.cost for f in sc.facilities] == [1_200_000, 400_000]
    assert {t.type: t.cost for t in sc.crossings.types} == {"footbridge": 1_800_000, "signalised": 450_000,
                                                           "underpass": 2_500_000}
    assert sc.social_spaces is not None and sc.social_spaces.cost == 150_000
    assert {b.id: b.kind for b in sc.site.barriers} == {"parkway": BarrierKind.DUAL_CARRIAGEWAY, "hs2": BarrierKind.RAIL}


# ------------------------------------------------------------------ currencies


def _usd(**over) -> dict:
    d = scenario_dict(**{"currency": "USD", "budget": 2_000_000, **over})
    del d["budget_gbp"]
    d["facilities"][0]["cost"] = d["facilities"][0].pop("cost_gbp")
    d["social_spaces"]["cost"] = d["social_spaces"].pop("cost_gbp")
    for t in d["crossings"]["types"].values():
        t["cost"] = t.pop("cost_gbp")
    return d


def _write(tmp_path: Path, scenario: dict) -> Path:
    site, _ = write_files(tmp_path)
    path = tmp_path / "usd.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    assert site.exists()
    return path


def test_currency_and_unsuffixed_fields(tmp_path):
    sc = read_scenario(_write(tmp_path, _usd()))
    assert sc.currency == "USD" and sc.budget == 2_000_000
    assert sc.facilities[0].cost == 400_000 and sc.social_spaces is not None and sc.social_spaces.cost == 100_000
    assert {t.type: t.cost for t in sc.crossings.types} == {"signalised": 250_000, "footbridge": 1_200_000}
    # unsuffixed fields in a GBP scenario (no currency given) are pounds
    d = _usd()
    del d["currency"]
    assert read_scenario(_write(tmp_path, d)).currency == "GBP"


def test_currency_errors_say_which_field_to_use(tmp_path):
    d = _usd()
    d["budget_gbp"] = 1_000_000  # both, in a USD scenario
    d["facilities"][0]["cost_gbp"] = 5  # both
    d["social_spaces"]["cost_gbp"] = d["social_spaces"].pop("cost")  # pounds in a USD scenario
    del d["crossings"]["types"]["footbridge"]["cost"]  # neither
    with pytest.raises(ValidationError) as err:
        read_scenario(_write(tmp_path, d))
    got = _problems(err)
    assert got["budget_gbp"][0] == "both budget and budget_gbp are given"
    assert "budget (in the scenario's currency, USD)" in got["budget_gbp"][1]
    assert got["facilities[0].cost_gbp"][0] == "both cost and cost_gbp are given"
    assert got["social_spaces.cost_gbp"] == ("cost_gbp is in pounds but the scenario's currency is USD",
                                             "write cost: <amount in USD> instead of cost_gbp")
    assert got["crossings.types.footbridge.cost"] == ("cost is missing", "give cost: <amount in USD>")


@pytest.mark.parametrize(("code", "hint"), [("usd", "write it in capitals: currency: USD"),
                                             ("USX", "did you mean"), ("dollars", "three-letter ISO 4217 code")])
def test_bad_currency_code(tmp_path, code, hint):
    with pytest.raises(ValidationError) as err:
        read_scenario(_write(tmp_path, _usd(currency=code)))
    reason, fix = _problems(err)["currency"]
    assert reason == f"{code!r} is not an ISO 4217 currency code" and hint in fix


def test_money_is_written_in_the_currency():
    assert money_short(2_550_000, "GBP") == "£2.55m" and money_short(350_000, "USD") == "$350k"
    assert money_short(900, "EUR") == "€900" and money_short(1_200_000, "CHF") == "CHF 1.20m"
    assert money_text(60_000_000, "USD") == "$60,000,000" and money_text(5, "JPY") == "JPY 5"


def test_large_amounts_are_short_in_any_currency():
    """Yen (no minor unit, a hundred and more to the pound) were written 'JPY 1400.00m of JPY
    2000.00m': three or four significant figures, in billions from a billion."""
    assert money_short(1_400_000_000, "JPY") == "JPY 1.40bn" and money_short(2e9, "JPY") == "JPY 2.00bn"
    assert money_short(500_000_000, "JPY") == "JPY 500m" and money_short(150_000_000, "GBP") == "£150m"
    assert money_short(14_000_000, "GBP") == "£14.00m" and money_short(99_990_000, "EUR") == "€99.99m"
    assert money_short(1_234_000_000_000, "IDR") == "IDR 1,234.00bn"
    # nothing rounds up to a figure its unit would not show: 1000 of anything is the next unit
    assert money_short(999_999_999, "JPY") == "JPY 1.00bn" and money_short(99_999_999, "JPY") == "JPY 100m"
    assert money_short(999_999, "GBP") == "£1.00m" and money_short(999.7, "GBP") == "£1k"
    # ... and nothing below that loses a figure: 995m is 995m (it was 0.99bn), 999.5m the first 1.00bn
    assert money_short(995_000_000, "JPY") == "JPY 995m" and money_short(999_400_000, "JPY") == "JPY 999m"
    assert money_short(999_500_000, "JPY") == "JPY 1.00bn"
    assert money_compact(2e9, "JPY") == "JPY 2bn" and money_compact(1_500_000, "GBP") == "£1.5m"


def test_negative_amounts_have_a_minus_sign_before_the_symbol():
    """A batch item sweeping budget_gbp: -1 was titled 'budget=£-1'."""
    assert money_compact(-1, "GBP") == "\u2212£1" and money_compact(-1_500_000, "GBP") == "\u2212£1.5m"
    assert money_short(-1, "GBP") == "\u2212£1" and money_short(-2_550_000, "USD") == "\u2212$2.55m"
    assert money_short(-1_400_000_000, "JPY") == "\u2212JPY 1.40bn"
    assert money_text(-1500, "GBP") == "\u2212£1,500" and money_text(-5, "JPY") == "\u2212JPY 5"
    assert money_short(0, "GBP") == "£0" and money_text(0.0, "GBP") == "£0"


@pytest.mark.slow
def test_dollars_in_metrics_report_plan_and_messages(tmp_path):
    from optimiser.pipeline import run_scenario

    path = _write(tmp_path, _usd())
    res = run_scenario(path, tmp_path / "run", render=True, seed=0, workers=1, time_limit_s=20)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["currency"] == "USD" and m["cost"]["budget"] == 2_000_000
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "$" in report and "£" not in report
    checks = {c["name"]: c["detail"] for c in m["verification"]["checks"]}
    assert checks["budget"].startswith("capital cost $") and "within budget $2,000,000" in checks["budget"]
    assert res.metrics.currency == "USD"
    # infeasible: the explanation names the budget in dollars
    poor = _usd(budget=100_000)
    res = run_scenario(_write(tmp_path, poor), tmp_path / "poor", render=False, seed=0, workers=1, time_limit_s=20)
    text = " ".join(res.metrics.conflicts)
    assert "the budget ($100,000) is below $400,000" in text and "£" not in text


# ------------------------------------------------------------------ barrier kinds


def test_kind_aliases_are_normalised(tmp_path):
    assert BarrierKind.parse("carriageway") is BarrierKind.DUAL_CARRIAGEWAY
    assert BarrierKind.parse("rail_corridor") is BarrierKind.RAIL and BarrierKind.parse("watercourse") is BarrierKind.WATER
    assert BarrierKind.CARRIAGEWAY is BarrierKind.DUAL_CARRIAGEWAY  # code naming the old member still works
    site, _ = write_files(tmp_path)  # kind: carriageway
    assert read_site(site).barriers[0].kind is BarrierKind.DUAL_CARRIAGEWAY
    assert [k.value for k in BarrierKind] == ["dual_carriageway", "motorway", "arterial", "rail", "water", "other"]


def _kind_site(tmp_path: Path, kind: str, rule_types: list[str]) -> dict:
    d = site_dict()
    d["barriers"][0]["kind"] = kind
    d["crossing_rules"][0]["types"] = rule_types
    return d


def test_site_rule_may_not_allow_at_grade_over_a_motorway(tmp_path):
    d = _kind_site(tmp_path, "motorway", ["footbridge", "signalised"])
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_site(tmp_path / "site.yaml")
    reason, fix = _problems(err)["crossing_rules[0].types"]
    assert "barrier 'parkway' is a motorway: signalised cannot cross it" in reason and "footbridge, underpass" in fix


def test_scenario_may_narrow_the_site_rules_never_widen_them(tmp_path):
    site, _ = write_files(tmp_path)  # rule: parkway every 200 m, footbridge and signalised
    narrower = scenario_dict(crossings={"spacing_m": 400, "types": {"footbridge": {"cost_gbp": 1e6}}})
    sc = scenario_from_mapping(narrower, base_path=tmp_path / "s.yaml")
    assert [t.type for t in sc.crossings.types] == ["footbridge"]
    wider = scenario_dict(crossings={"spacing_m": 100, "types": {"footbridge": {"cost_gbp": 1e6},
                                                                "underpass": {"cost_gbp": 2e6}}})
    with pytest.raises(ValidationError) as err:
        scenario_from_mapping(wider, base_path=tmp_path / "s.yaml", name="s.yaml")
    got = _problems(err)
    assert got["crossings.spacing_m"] == (
        "100 m is closer than the site's crossing rules allow ('parkway' every 200 m): a scenario may narrow the "
        "site's rules (greater spacing, fewer types), never widen them",
        "set crossings.spacing_m to 200 or more, or to null to use the site's rules")
    assert "an underpass crossing cannot be built along any barrier it would apply to (parkway)" in got["crossings.types.underpass"][0]
    assert got["crossings.types.underpass"][1] == "drop crossings.types.underpass; these barriers take footbridge, signalised"
    assert all(p.file == "s.yaml" for p in err.value.problems)


def test_a_type_no_barrier_can_take_is_refused_with_or_without_site_rules(tmp_path):
    """The verdict on an offered type does not depend on whether every barrier it applies to has
    a site rule (it had been checked only then): along one without a rule its kind decides."""
    from optimiser.inputs.crossing_rules import kind_phrase

    assert (kind_phrase(BarrierKind.WATER), kind_phrase(BarrierKind.MOTORWAY), kind_phrase(BarrierKind.ARTERIAL)) == (
        "water", "a motorway", "an arterial")
    d = _kind_site(tmp_path, "motorway", ["footbridge"])
    d["barriers"].append({"id": "canal", "kind": "water", "width_m": 20, "layer": "hs2", "default_on": False,  # no rule
                          "geometry": {"type": "LineString", "coordinates": [[440550.0, 386950.0], [440550.0, 387650.0]]}})
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    offered = {"footbridge": {"cost_gbp": 1e6}, "signalised": {"cost_gbp": 2e5}}
    for hs2_on in (False, True):
        sc = scenario_dict(crossings={"types": offered}, layers={"hs2": hs2_on})
        with pytest.raises(ValidationError) as err:
            scenario_from_mapping(sc, base_path=tmp_path / "s.yaml", name="s.yaml")
        reason, fix = _problems(err)["crossings.types.signalised"]
        assert "a signalised crossing cannot be built along any barrier" in reason, (hs2_on, reason)
        assert fix.startswith("drop crossings.types.signalised") and "footbridge" in fix
    sc = scenario_dict(crossings={"types": {"footbridge": {"cost_gbp": 1e6}}}, layers={"hs2": True})
    assert [t.type for t in scenario_from_mapping(sc, base_path=tmp_path / "s.yaml").crossings.types] == ["footbridge"]


def test_an_at_grade_type_on_a_motorway_only_site_is_refused_naming_the_kind(tmp_path):
    """constraints/README.md: at-grade types are never generated over a motorway; offered for a
    site whose only barrier is one (no site rule), the type could never be built, so it is a
    validation error naming the barrier's kind (not 'no rule of the site allows it'); beside a
    barrier that takes it, the same offer is valid and applies there alone."""
    d = site_dict()
    d["barriers"][0]["kind"] = "motorway"
    d["crossing_rules"] = []
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    offered = {"footbridge": {"cost_gbp": 1e6}, "signalised": {"cost_gbp": 2e5}}
    with pytest.raises(ValidationError) as err:
        scenario_from_mapping(scenario_dict(crossings={"spacing_m": 300, "types": offered}), base_path=tmp_path / "s.yaml",
                              name="s.yaml")
    assert _problems(err)["crossings.types.signalised"] == (
        "a signalised crossing cannot be built along any barrier it would apply to (parkway): 'parkway' is a motorway, "
        "which it cannot cross",
        "drop crossings.types.signalised; these barriers take footbridge, underpass")
    d["barriers"].append({"id": "avenue", "kind": "arterial", "width_m": 20,
                          "geometry": {"type": "LineString", "coordinates": [[440550.0, 386950.0], [440550.0, 387650.0]]}})
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    sc = scenario_from_mapping(scenario_dict(crossings={"spacing_m": 300, "types": offered}), base_path=tmp_path / "s.yaml")
    assert sorted(t.type for t in sc.crossings.types) == ["footbridge", "signalised"]


def test_explicit_at_grade_candidate_over_a_motorway_is_refused(tmp_path):
    d = _kind_site(tmp_path, "motorway", ["footbridge"])
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    xy = d["crossings"][0]["geometry"]["coordinates"]
    x0 = xy[0][0] - 100
    explicit = [{"id": "x-zebra", "barrier": "parkway", "type": "zebra",
                 "geometry": {"type": "LineString", "coordinates": [[x0, xy[0][1]], [x0, xy[1][1]]]}}]
    scen = scenario_dict(crossings={"spacing_m": 0, "types": {"zebra": {"cost_gbp": 1e5}}, "explicit": explicit})
    with pytest.raises(ValidationError) as err:
        scenario_from_mapping(scen, base_path=tmp_path / "s.yaml")
    reason, fix = _problems(err)["crossings.explicit[0].type"]
    assert reason == "barrier 'parkway' is a motorway: a zebra crossing cannot be built over it (at grade)"
    assert fix == "use a type it can take (footbridge)"  # its kind takes underpasses too, its site rule does not


def test_crossing_types_of_ones_own_must_say_their_grade(tmp_path):
    write_files(tmp_path)
    scen = scenario_dict(crossings={"spacing_m": 0, "types": {"footbrige": {"cost_gbp": 1e6},
                                                              "signalised": {"cost_gbp": 1e5, "at_grade": False},
                                                              "toucan": {"cost_gbp": 1e5, "at_grade": True}}})
    with pytest.raises(ValidationError) as err:
        scenario_from_mapping(scen, base_path=tmp_path / "s.yaml")
    got = _problems(err)
    assert "must say whether it is at grade" in got["crossings.types.footbrige"][0]
    assert got["crossings.types.footbrige"][1].startswith("did you mean 'footbridge'?")
    assert got["crossings.types.signalised.at_grade"][0] == "signalised is at grade; at_grade: false contradicts it"
    assert "crossings.types.toucan" not in got
    assert generated_id_pattern(["toucan"]).fullmatch("parkway-toucan-003")


def test_generated_ids_past_999_are_generated_ids():
    """A barrier long enough for 1,000 candidates of a type numbers them parkway-fb-1000 on
    (f"{i:03d}"): an existing or explicit crossing named so was not seen to clash."""
    pattern = generated_id_pattern()
    assert all(pattern.fullmatch(i) for i in ("parkway-fb-000", "parkway-fb-999", "parkway-fb-1000", "hs2-up-12345"))
    assert not any(pattern.fullmatch(i) for i in ("parkway-fb-01", "parkway-fb-0001", "parkway-fb-1x00", "parkway-footbridge-1"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_motorway_never_gets_an_at_grade_crossing(backend):
    """The zoo square with 1.8m: over a dual carriageway a cheap signalised crossing is worth
    building; over a motorway only the footbridge is offered and chosen, on both backends,
    at the brute-force optimum."""
    results = {}
    for kind in (BarrierKind.DUAL_CARRIAGEWAY, BarrierKind.MOTORWAY):
        site = _square()
        site = dataclasses.replace(site, barriers=tuple(dataclasses.replace(b, kind=kind) for b in site.barriers))
        prep = prepare(_scenario(site, budget=1_800_000, crossings=_spec(300.0, (SIG, FB))))
        cands = prep.context.network.candidates
        best_obj, _ = brute_force(prep)
        res = solve(prep.problem, backend, time_limit_s=30, seed=0, workers=1)
        assert res.status == "optimal" and res.objective == pytest.approx(best_obj, abs=len(prep.problem.clients) + 1)
        built = {cands[c].type for c, d in prep.context.crossing_decision.items() if d in res.chosen}
        results[kind] = ({c.type for c in cands}, built)
    assert results[BarrierKind.DUAL_CARRIAGEWAY][0] == {"signalised", "footbridge"}
    assert "signalised" in results[BarrierKind.DUAL_CARRIAGEWAY][1]
    assert results[BarrierKind.MOTORWAY] == ({"footbridge"}, {"footbridge"})


def _spec(spacing_m: float, types: tuple[CrossingTypeSpec, ...]):
    from tests.sitezoo import crossing_spec

    return crossing_spec(spacing_m, types=types)


def test_kind_decides_candidate_types():
    site = _square()
    bar = site.barriers[0]
    zebra = CrossingTypeSpec("zebra", 50_000, 10.0)
    for kind, expected in [(BarrierKind.ARTERIAL, {"signalised", "footbridge", "zebra"}),
                           (BarrierKind.RAIL, {"footbridge"}), (BarrierKind.WATER, {"footbridge"}),
                           (BarrierKind.MOTORWAY, {"footbridge"})]:
        b = dataclasses.replace(bar, kind=kind)
        s = dataclasses.replace(site, barriers=(b,), crossing_rules=())
        got = generate_candidate_crossings(s, (b,), _spec(300.0, (SIG, FB, zebra)))
        assert {c.type for c in got} == expected, kind
    underpass = CrossingTypeSpec("underpass", 1e6, 10.0)
    b = dataclasses.replace(bar, kind=BarrierKind.WATER)
    s = dataclasses.replace(site, barriers=(b,), crossing_rules=())
    assert not generate_candidate_crossings(s, (b,), _spec(300.0, (underpass,)))


# ------------------------------------------------------------------ legend and labels


def _barrier(fid: str, name: str, kind: str, **props) -> Feature:
    return Feature("barrier", LineString([(0, 0), (500, 0)]), {"layer": "barrier", "id": fid, "name": name,
                                                                "kind": kind, "width_m": 40.0, **props})


def test_legend_and_labels_use_kind_and_name():
    feats = [_barrier("i880", "I-880", "motorway", no_build=False),
             _barrier("up", "Union Pacific/BART", "rail", no_build=True),
             _barrier("pk", "Parkway", "carriageway"),  # a layout written before the new kinds
             _barrier("hs2", "HS2", "rail_corridor", active=False),
             _barrier("river", "River Don", "water", no_build=True)]
    assert [barrier_legend_label(f) for f in feats] == [
        "I-880 (motorway)", "Union Pacific/BART (rail, no-build)", "Parkway (dual carriageway)", "HS2 (rail, inactive)",
        "River Don (water, no-build)"]
    assert barrier_label(feats[0]) == "I-880 (motorway)" and barrier_label(feats[3]) == "HS2 (rail, inactive)"
    from matplotlib.figure import Figure

    layout = layout_from_features([{"type": "Feature", "geometry": f.geometry, "properties": f.props} for f in feats],
                                  "EPSG:27700")
    ax = Figure().subplots()
    labels = [h.get_label() for h in draw_base(ax, layout)]
    assert "I-880 (motorway)" in labels and "Union Pacific/BART (rail, no-build)" in labels
    assert not any(lbl.startswith(("Dual carriageway", "Rail corridor")) for lbl in labels)


def test_barrier_kind_in_code_is_typed():
    b = Barrier("m", "M1", BarrierKind.MOTORWAY, LineString([(0, 0), (1, 0)]), 30.0)
    assert b.kind.is_road and not b.kind.allows_at_grade and b.kind.label == "motorway"


# ------------------------------------------------------------------ compare and old run directories


def test_compare_writes_each_runs_currency_and_stars_no_money_across_currencies(synthetic_run):
    from optimiser.present.compare import metric_rows
    from optimiser.present.rundir import load_run

    a, b = synthetic_run("a", variant=0), synthetic_run("b", variant=1)
    m = json.loads((b / "metrics.json").read_text())
    assert m["currency"] == "GBP"
    m["currency"] = "USD"
    (b / "metrics.json").write_text(json.dumps(m))
    runs = [load_run(a), load_run(b)]
    rows = {row.label: (row, vals, best) for row, vals, best in metric_rows(runs)}
    row, vals, best = rows["Capital cost"]
    assert best == set()  # pounds and dollars are not ranked
    assert row.text(vals[0], runs[0].metrics).startswith("£") and row.text(vals[1], runs[1].metrics).startswith("$")
    assert rows["Weighted mean walk after"][2]  # other rows still mark a best run


def test_run_directory_from_before_currencies_loads_as_pounds(synthetic_run):
    from optimiser.present.metrics import RunMetrics

    m = json.loads((synthetic_run("old") / "metrics.json").read_text())
    del m["currency"]
    for p in m["placements"]["shared_facilities"]:
        p["cost_gbp"] = p.pop("cost")
    old = RunMetrics.from_json_dict(m)
    assert old.currency == "GBP" and old.placements.shared_facilities[0].cost > 0


def test_batch_item_names_write_the_currency():
    from optimiser.batch.spec import item_name

    assert item_name({"budget": 1_500_000, "layers.hs2": True}, "x", "USD") == "budget=$1.5m, hs2=on"
    assert item_name({"facilities.0.cost": 90_000}, "x", "EUR") == "facilities[0].cost=€90000"
    assert item_name({"budget_gbp": 1_000_000}, "x") == "budget=£1m"  # pounds, the first format's field


def test_a_money_column_has_one_unit_and_precision():
    """The report's cost table: one unit and precision per column (a helper saw 'JPY 20.00m'
    unspent beside 'JPY 150m' spent), full amounts under a million, negatives with a minus."""
    from optimiser.inputs.currency import money_column

    assert money_column([150_000_000, 20_000_000, None], "JPY") == ["JPY 150.00m", "JPY 20.00m", "–"]
    assert money_column([900_000, 4_000_000, 0], "GBP") == ["£0.90m", "£4.00m", "£0.00m"]
    assert money_column([45_000, 900, 1_200], "CHF") == ["CHF 45,000", "CHF 900", "CHF 1,200"]
    assert money_column([1.2e9, 3e8, -2e8], "EUR") == ["€1.20bn", "€0.30bn", "−€0.20bn"]


def test_the_report_cost_table_uses_one_precision():
    from optimiser.present.metrics import RunMetrics
    from optimiser.present.report import cost_table

    m = RunMetrics.model_construct(cost=SimpleNamespace(crossings=150_000_000.0, facilities=0.0, social_spaces=0.0,
                                                        capital=150_000_000.0, budget=170_000_000.0),
                                   transit=None, currency="JPY")
    texts = [row[1].text for row in cost_table(m).rows]
    assert texts[-1] == "JPY 20.00m" and texts[0] == "JPY 150.00m"


def test_an_amount_written_as_in_a_report_gets_the_plain_number_to_write(tmp_path):
    """``budget: "£1.2m"`` or ``cost: 400k`` is refused (an amount is a plain number in the
    scenario's currency) with the number meant, and the value is quoted as typed: the message
    said got "\\u00a31.2m" and "write budget as a number"."""
    scen = scenario_dict(budget_gbp=None, budget="£4.1m")
    scen["facilities"][0].pop("cost_gbp")
    scen["facilities"][0]["cost"] = "400k"
    _, path = write_files(tmp_path)
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    got = {p.field: str(p) for p in validate_files([str(path)])}
    assert got["budget"].endswith('budget: must be a number, got "£4.1m" (write 4100000: the amount alone, in the '
                                  "scenario's currency, without symbol, separators or units)"), got
    assert got["facilities[0].cost"].endswith("(write 400000: the amount alone, in the scenario's currency, without "
                                              "symbol, separators or units)"), got
    assert len(got) == 2, got


def test_a_decimal_comma_is_not_read_as_a_thousands_separator(tmp_path):
    """``budget: "£1,5m"`` (1.5 million, written with a decimal comma) was answered 'write
    15000000', ten times the amount meant; separators count only between groups of three digits,
    and one or two digits after a comma are a decimal comma: 'write 1500000'."""
    scen = scenario_dict(budget_gbp=None, budget="£1,5m")
    _, path = write_files(tmp_path)
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    got = {p.field: str(p) for p in validate_files([str(path)])}
    assert "15000000" not in got["budget"] and got["budget"].endswith(
        'must be a number, got "£1,5m" (write 1500000: the amount alone, in the scenario\'s currency, without symbol, '
        'separators or units)'), got
    scen["budget"] = "£1,500,000"  # a thousands separator still is one
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    assert "(write 1500000: the amount alone" in str(validate_files([str(path)])[0])


def test_a_character_that_cannot_be_seen_is_shown_escaped(tmp_path):
    """Since values are quoted as typed ("£4m"), a zero-width space pasted into a head count
    (employees: "3\\u200b0") was printed as it is, 'must be a whole number, got "30"' on screen;
    what cannot be seen stays escaped, what can is shown as typed."""
    site, path = write_files(tmp_path)
    site_path = path.parent / "site.yaml"
    data = yaml.safe_load(site_path.read_text())
    data["firms"][0]["employees"] = "3\u200b0"
    data["firms"][1]["id"] += "\u200b"  # copied from a web page
    site_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    got = {p.field: p.reason for p in validate_files([str(site_path)])}
    assert got["firms[0].employees"].startswith('must be a whole number, got "3\\u200b0"'), got
    assert got["firms[1].id"].startswith(f'"{data["firms"][1]["id"][:-1]}\\u200b" is not a valid id'), got
    scen = scenario_dict(budget_gbp=None, budget="£4m")
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    assert 'got "£4m"' in str(validate_files([str(path)])[0])


def test_an_amount_in_another_currency_is_not_answered_with_the_same_number(tmp_path):
    """``budget: "$1.2m"`` in a euro scenario was answered 'write 1200000: the amount alone, in the
    scenario's currency', turning 1.2 million dollars into 1.2 million euros; the fix now says the
    amount is in another currency than the scenario's (and, where the scenario names none, which
    currency to set). An amount in the scenario's own currency keeps the plain number."""
    scen = scenario_dict(budget_gbp=None, budget="$1.2m", currency="EUR")
    scen["facilities"][0].pop("cost_gbp")
    scen["facilities"][0]["cost"] = "GBP 400k"
    scen["social_spaces"].pop("cost_gbp")
    scen["social_spaces"]["cost"] = "€100k"
    scen["crossings"] = {"spacing_m": 300, "types": {"signalised": {"cost": 250_000, "penalty_m": 45}}}
    _, path = write_files(tmp_path)
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    got = {p.field: str(p) for p in validate_files([str(path)])}
    assert got["budget"].endswith('got "$1.2m" (it is written in $ but the scenario\'s currency is EUR: convert it to '
                                  "EUR and write the amount alone, without symbol or units (1200000 only if the figure "
                                  "is in EUR already))"), got
    assert "it is written in GBP but the scenario's currency is EUR" in got["facilities[0].cost"], got
    assert got["social_spaces.cost"].endswith("(write 100000: the amount alone, in the scenario's currency, without "
                                              "symbol, separators or units)"), got
    scen.pop("currency")
    scen["budget"], scen["facilities"][0]["cost"], scen["social_spaces"]["cost"] = "$1.2m", 400_000, 100_000
    path.write_text(yaml.safe_dump({k: v for k, v in scen.items() if v is not None}, allow_unicode=True))
    got = {p.field: str(p) for p in validate_files([str(path)])}
    assert got["budget"].endswith("(it is written in $ but the scenario's currency is GBP (the default): set currency: "
                                  "USD if every amount is in $, or convert it to GBP and write the amount alone, without "
                                  "symbol or units (1200000 only if the figure is in GBP already))"), got


# Three pairs of firms across a Parkway, each pair joined by one candidate crossing of cost 0.45:
# a scenario whose amounts are written in millions (budget: 0.9, "GBP 0.9m").
MILLIONS_SITE = """\
format: placemaking-site/1
id: millions
crs: EPSG:27700
firms:
""" + "".join(f"""\
  - {{id: s{k}, employees: 100, location: [{440100 + 400 * k}, 387270], entrances: [[{440100 + 400 * k}, 387280]]}}
  - {{id: n{k}, employees: 100, location: [{440120 + 400 * k}, 387330], entrances: [[{440120 + 400 * k}, 387320]]}}
""" for k in range(3)) + """\
barriers:
  - {id: parkway, kind: dual_carriageway, width_m: 30, geometry: {type: LineString, coordinates: [[439950, 387300], [441050, 387300]]}}
paths:
  - {id: south, geometry: {type: LineString, coordinates: [[440000, 387280], [441000, 387280]]}}
  - {id: north, geometry: {type: LineString, coordinates: [[440000, 387320], [441000, 387320]]}}
"""


@pytest.mark.parametrize("backend", ["cpsat", "cbc"])
def test_amounts_below_one_unit_are_not_rounded_away(tmp_path, backend):
    """Costs of 0.45 (a scenario written in millions) were rounded to whole units in the budget
    row: every crossing cost 0 there, all three were built for 1.35 against a budget of 0.9, and
    the run ended in 'VERIFICATION FAILED (this is a bug)' with 'capital cost £1 within budget
    £1'. The row now counts in the unit that makes every amount whole: two crossings, exactly
    the budget; messages write such amounts with their pence."""
    (tmp_path / "site.yaml").write_text(MILLIONS_SITE)
    scen = {"format": "placemaking-scenario/1", "id": "millions", "site": "site.yaml", "budget": 0.9,
            "crossings": {"spacing_m": 0, "types": {"signalised": {"cost": 0.45, "penalty_m": 0}},
                          "explicit": [{"id": f"x{k}", "barrier": "parkway", "type": "signalised",
                                        "geometry": {"type": "LineString", "coordinates": [[440110 + 400 * k, 387280],
                                                                                           [440110 + 400 * k, 387320]]}}
                                       for k in range(3)]}}
    (tmp_path / "sc.yaml").write_text(yaml.safe_dump(scen))
    rr = run_scenario(read_scenario(tmp_path / "sc.yaml"), None, render=False, backend=backend, time_limit_s=10)
    m = rr.metrics
    assert rr.verification is not None and rr.verification.passed
    assert m.status == "optimal" and len(m.placements.crossings) == 2 and m.cost.capital == pytest.approx(0.9)
    assert (money_text(0.45), money_text(1.35), money_text(1_200_000), money_short(0.9)) == ("£0.45", "£1.35", "£1,200,000", "£0.90")


def test_one_table_of_currency_symbols_answers_the_currency_field_and_the_amounts(tmp_path):
    """Two symbol-to-currency maps disagreed: ``currency: ₹`` was answered 'currency: INR' but an
    amount ``"₹5m"`` was not read as one (its map knew £ $ € ¥ only) and got the plain-number
    fix, as if rupees were pounds. Both now read ``currency.SYMBOL_CURRENCIES``."""
    from optimiser.inputs.currency import SYMBOL_CURRENCIES, SYMBOLS, symbol_code, symbol_code_hint, unit_word

    assert symbol_code_hint("$") == "USD (or AUD, CAD, NZD ... for another dollar)"
    assert symbol_code_hint("¥") == "JPY (or CNY for the yuan)"
    assert symbol_code_hint("€") == "EUR" and symbol_code_hint("X") is None
    assert SYMBOLS == {"GBP": "£", "USD": "$", "EUR": "€"}
    assert unit_word("USD") == "dollar" and unit_word("CHF") == "CHF" and unit_word(None) == "unit of money"
    _, path = write_files(tmp_path)
    for sym in SYMBOL_CURRENCIES:
        scen = scenario_dict(budget_gbp=None, budget=f"{sym}5m", currency=sym)
        path.write_text(yaml.safe_dump(scen, allow_unicode=True))
        got = {p.field: p.hint for p in validate_files([str(path)])}
        assert got["currency"] == f"write the ISO 4217 code, not the symbol: currency: {symbol_code_hint(sym)}", got
        scen.pop("currency")
        path.write_text(yaml.safe_dump(scen, allow_unicode=True))
        got = {p.field: p.hint for p in validate_files([str(path)])}
        if sym == "£":  # the default currency's own symbol: the amount alone
            assert got["budget"].startswith("write 5000000: the amount alone"), got
        else:
            assert got["budget"].startswith(f"it is written in {sym} but the scenario's currency is GBP (the default): "
                                            f"set currency: {symbol_code(sym)} if every amount is in {sym}"), got


def test_two_amounts_compared_in_a_message_are_written_apart():
    """Amounts in full are written to two decimals at most: a £404k cost against a £400k budget
    written in millions read '£0.40' against '£0.40' (the infeasibility explanation, the
    verifier's budget check). money_apart adds the decimals that tell them apart."""
    from optimiser.inputs.currency import money_apart

    assert money_apart(0.404, 0.4) == ("£0.404", "£0.400")
    assert money_apart(400_000.004, 400_000, "USD") == ("$400,000.004", "$400,000.000")
    assert money_apart(0.7000012, 0.7, "KWD") == ("KWD 0.700001", "KWD 0.700000")
    assert money_apart(0.4, 0.4) == ("£0.40", "£0.40") and money_apart(1.5, 2) == ("£1.50", "£2")
    assert money_apart(-0.404, -0.4) == ("−£0.404", "−£0.400")


def test_an_exact_sum_is_written_apart_from_the_budget():
    """The verifier's budget line added costs as floats: 2 * 10**11 + 0.000001 is 2 * 10**11 in a
    double, so a plan a millionth over read 'capital cost £200,000,000,000 within budget
    £200,000,000,000'. It now adds them exactly (a Fraction), written exactly."""
    from fractions import Fraction

    from optimiser.inputs.currency import exact_amount, money_apart

    capital = exact_amount(1e11) * 2 + exact_amount(0.000001)
    assert money_apart(capital, 2e11) == ("£200,000,000,000.000001", "£200,000,000,000.000000")
    assert money_apart(Fraction(7, 10), 0.7) == ("£0.70", "£0.70")
