"""The site's CRS checks (:mod:`optimiser.inputs.crs`, :mod:`optimiser.inputs.plausibility`):
``crs`` and ``working_crs`` get the same unit, area-of-use and scale checks, a ``working_crs`` is
honoured whatever ``crs`` is, and coordinates in messages are whole metres or fixed degrees."""

from __future__ import annotations

import yaml

from optimiser.inputs import validate_files
from optimiser.inputs.messages import format_xy
from tests.sitefiles import site_dict


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def _moved(data, fn):
    """``data`` with every position passed through ``fn(x, y) -> (x, y)``."""
    if isinstance(data, list) and data and isinstance(data[0], (int, float)):
        return list(fn(data[0], data[1]))
    if isinstance(data, list):
        return [_moved(d, fn) for d in data]
    if isinstance(data, dict):
        return {k: _moved(v, fn) if isinstance(v, (dict, list)) else v for k, v in data.items()}
    return data


def test_format_xy_is_whole_metres_or_fixed_degrees():
    assert format_xy(690280.4, 5335610.2) == "(690280, 5335610)"
    assert format_xy(8.5, 47.4, degrees=True) == "(8.50000, 47.40000)"
    assert format_xy(1e308, 387850) == "(1e+308, 387850)"


def test_outside_the_area_of_use_is_in_whole_metres(tmp_path):
    d = _moved(site_dict(), lambda x, y: (x + 250000, y + 4948000))  # a Munich-sized northing in EPSG:27700
    probs = validate_files([_write(tmp_path / "far.yaml", d)])
    msg = next(p.reason for p in probs if p.field == "parcels[0].geometry")
    assert msg == ("coordinates (690000, 5335000) lie outside the area of use of crs EPSG:27700 "
                   "(x -144406..728483, y -80290..1320279 m)")
