"""Write tiny but complete site and scenario files (YAML, EPSG:27700) for CLI and
pipeline tests. The site is a 1000 x 600 m grid of footpaths around E 440000 N 387000,
split by a carriageway along y = 300 with one junction at x = 500."""

from __future__ import annotations

from pathlib import Path

import yaml

E0, N0 = 440000.0, 387000.0


def xy(x: float, y: float) -> list[float]:
    return [E0 + x, N0 + y]


def site_dict() -> dict:
    paths = []
    for y in range(0, 601, 100):
        paths.append({"id": f"h{y}", "kind": "footpath", "geometry": {"type": "LineString", "coordinates": [xy(0, y), xy(1000, y)]}})
    for x in range(0, 1001, 100):
        paths.append({"id": f"v{x}", "kind": "footpath", "geometry": {"type": "LineString", "coordinates": [xy(x, 0), xy(x, 600)]}})

    def rect(x0, y0, x1, y1):
        return {"type": "Polygon", "coordinates": [[xy(x0, y0), xy(x1, y0), xy(x1, y1), xy(x0, y1), xy(x0, y0)]]}

    return {
        "format": "placemaking-site/1",
        "id": "tiny",
        "name": "Tiny test site",
        "crs": "EPSG:27700",
        "illustrative": True,
        "parcels": [
            {"id": "west", "status": "buildable", "geometry": rect(0, 0, 300, 280)},
            {"id": "west_n", "status": "buildable", "geometry": rect(0, 320, 300, 600)},
            {"id": "green_s", "status": "open_space", "geometry": rect(300, 0, 700, 280)},
            {"id": "green_n", "status": "open_space", "geometry": rect(300, 320, 700, 600)},
            {"id": "east", "status": "occupied", "geometry": rect(700, 0, 1000, 280)},
            {"id": "east_n", "status": "occupied", "geometry": rect(700, 320, 1000, 600)},
        ],
        "firms": [
            {"id": "a", "name": "Alpha Works", "employees": 120, "sector": "manufacturing",
             "location": xy(200, 80), "entrances": [xy(200, 100)]},
            {"id": "b", "name": "Beta Lab", "employees": 60, "sector": "research", "location": xy(200, 520), "entrances": [xy(200, 500)]},
            {"id": "c", "name": "Gamma Ltd", "employees": 40, "sector": "office", "location": xy(850, 60), "entrances": [xy(850, 100)]},
            {"id": "d", "name": "Delta Centre", "employees": 200, "sector": "research",
             "location": xy(850, 540), "entrances": [xy(850, 500)], "fixed": True},
        ],
        "barriers": [
            {"id": "parkway", "name": "Parkway", "kind": "carriageway", "width_m": 30,
             "geometry": {"type": "LineString", "coordinates": [xy(-50, 300), xy(1050, 300)]}},
        ],
        "paths": paths,
        "crossings": [
            {"id": "junction", "name": "Junction", "barrier": "parkway", "type": "junction", "penalty_m": 20,
             "geometry": {"type": "LineString", "coordinates": [xy(500, 280), xy(500, 320)]}},
        ],
        "crossing_rules": [{"barrier": "parkway", "spacing_m": 200, "types": ["footbridge", "signalised"]}],
    }


def scenario_dict(**over) -> dict:
    d = {
        "format": "placemaking-scenario/1",
        "id": "tiny-baseline",
        "name": "Tiny baseline",
        "site": "site.yaml",
        "budget_gbp": 1_500_000,
        "facilities": [{"type": "workshop", "count": {"min": 1, "max": 1}, "footprint_m2": 900, "min_spacing_m": 0,
                        "cost_gbp": 400_000, "candidate_spacing_m": 150}],
        "social_spaces": {"count": {"min": 0, "max": 1}, "cost_gbp": 100_000, "coverage_radius_m": 300,
                          "coverage": "weighted", "candidate_spacing_m": 150, "noise_buffer_m": 40},
        "crossings": {"spacing_m": 300, "types": {"signalised": {"cost_gbp": 250_000, "penalty_m": 45},
                                                 "footbridge": {"cost_gbp": 1_200_000, "penalty_m": 30}}},
        "demand": {"rule": "sector_affinity", "sector_affinity": {"research": {"manufacturing": 2.0}}},
        "solver": {"backend": "cpsat", "time_limit_s": 20, "seed": 0, "workers": 1},
    }
    d.update(over)
    return d


def write_files(folder: Path, **scenario_overrides) -> tuple[Path, Path]:
    """Write site.yaml and scenario.yaml into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "site.yaml"
    site.write_text(yaml.safe_dump(site_dict(), sort_keys=False))
    scen = folder / "scenario.yaml"
    scen.write_text(yaml.safe_dump(scenario_dict(**scenario_overrides), sort_keys=False))
    return site, scen
