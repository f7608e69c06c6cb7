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
