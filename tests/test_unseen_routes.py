"""A site written by someone else may have no crossing of a barrier at all (wave 6, helper HR):
the firm pairs a new crossing connects are the plan's biggest gains, and their routes must be
drawn. They were left out with a warning ('no route drawn for firm pair a|b: no walking route')
because the route before could not be traced."""

from __future__ import annotations

import json
import logging

import yaml
from click.testing import CliRunner

from optimiser.cli import cli
from tests.sitefiles import write_files


def test_pair_connected_by_a_new_crossing_gets_its_route_after(tmp_path, caplog):
    site, scen = write_files(tmp_path / "in")
    data = yaml.safe_load(site.read_text())
    data["crossings"] = []  # the parkway cannot be crossed today
    site.write_text(yaml.safe_dump(data))
    with caplog.at_level(logging.WARNING):
        res = CliRunner().invoke(cli, ["run", str(scen), "--out", str(tmp_path / "out"), "--no-render", "--time-limit", "5"])
    assert res.exit_code == 0, res.output
    feats = json.loads((tmp_path / "out" / "layout.geojson").read_text())["features"]
    after = {f["properties"]["pair"] for f in feats if f["properties"].get("layer") == "route_after"}
    before = {f["properties"]["pair"] for f in feats if f["properties"].get("layer") == "route_before"}
    across = {"a|b", "a|d", "b|c", "c|d"}  # a and c south of the parkway, b and d north
    assert across & after, after
    assert not across & before  # no route before: nothing drawn for it, no infinite walk_m
    assert "no route drawn" not in caplog.text + res.output


def test_shortened_walks_rank_before_pairs_newly_connected():
    """The plan draws the most improved pairs by their walk's gain, a newly connected pair last
    (it has no walk before); layout.geojson ranked a newly connected pair first, as infinitely
    improved, so on a generated site with hundreds of them every route written was a new walk and
    the real shortenings (a pair 1,064 m nearer) were never drawn."""
    import math

    import numpy as np

    from optimiser.present.rundir import most_improved_pairs

    inf = math.inf
    before = np.array([[0, 900, inf, 500], [900, 0, inf, 800], [inf, inf, 0, inf], [500, 800, inf, 0]], dtype=float)
    after = np.array([[0, 400, 700, 499.5], [400, 0, 650, 300], [700, 650, 0, inf], [499.5, 300, inf, 0]], dtype=float)
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    weights = [1.0, 5.0, 9.0, 2.0, 1.0, 3.0]
    # (1, 3) gains 500 x 1 and (0, 1) 500 x 1 (tie: the larger firm index first, as before); (0, 3)
    # less than a metre; (0, 2) and (1, 2) newly connected, by weight; (2, 3) still unconnected
    assert most_improved_pairs(before, after, pairs, weights, 6) == [(1, 3, 4), (0, 1, 0), (0, 2, 1), (1, 2, 3)]
    assert most_improved_pairs(before, after, pairs, weights, 1) == [(1, 3, 4)]
