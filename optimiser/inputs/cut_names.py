"""What a Shapefile cuts: field names to 10 characters, where no name alone matches back (the
three ``provenance_*`` fields), and text to 254 characters (a transit line's ``stops`` as JSON).

GDAL (so QGIS) and ArcGIS cut ``provenance_source``, ``provenance_accuracy_m`` and
``provenance_status`` to ``provenance``, ``provenan_1`` and ``provenan_2``, in the order the
source layer had them; a GeoPackage made from such a Shapefile keeps the cut names. The three hold
different values (a horizontal accuracy is a number, a status one of four words, a source any
text), so each column is told by its values; two columns that could be the same field are a
problem. JSON text cut at 254 characters no longer parses: a problem saying so, not "must be a list".
"""

from __future__ import annotations

import re
import typing
from typing import TYPE_CHECKING, Any

from optimiser.errors import Problem
from optimiser.inputs import schema as S
from optimiser.lazy import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy_module("pandas")

__all__ = ["provenance_columns", "cut_json_text", "SHAPEFILE_TEXT_MAX"]

_CUT = re.compile(r"provenance|provenan_\d+", re.IGNORECASE)
"""The names GDAL and ArcGIS give the ``provenance_*`` fields in a Shapefile."""
_STATUSES = frozenset(typing.get_args(typing.get_args(S.Source.model_fields["status"].annotation)[0]))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def _role(values: list[Any]) -> str | None:
    """Which provenance field a cut column's (non-null) values are: ``None`` for one that holds
    a mapping or its JSON text (a ``provenance`` written whole) or nothing."""
    if not values or any(isinstance(v, (dict, list)) or isinstance(v, str) and v.lstrip().startswith("{") for v in values):
        return None
    if all(_is_number(v) for v in values):
        return "accuracy_m"
    if all(isinstance(v, str) and v.strip().lower() in _STATUSES for v in values):
        return "status"
    return "source"


def provenance_columns(frame: pd.DataFrame, file: str, layer: str, problems: list[Problem]) -> pd.DataFrame:
    """A layer with its cut provenance columns renamed ``provenance_<field>``, each told by its
    values. Two columns that could be the same field (a source that is a year beside the
    accuracy) are one problem, and left out (the file is refused; nothing is guessed); a layer
    with a full ``provenance_*`` name already is as it is."""
    columns = [str(c) for c in frame.columns]
    cut = [c for c in columns if _CUT.fullmatch(c)]
    if not cut or any(c.lower().startswith("provenance_") for c in columns):
        return frame
    roles = {c: _role([v for v in frame[c].tolist() if isinstance(v, (list, dict)) or not pd.isna(v)]) for c in cut}
    named = [r for r in roles.values() if r is not None]
    if len(set(named)) == len(named):
        return frame.rename(columns={c: f"provenance_{r}" for c, r in roles.items() if r is not None})
    same = [c for c, r in roles.items() if r is not None and named.count(r) > 1]
    problems.append(Problem(file, f"layer {layer}: {', '.join(same)}",
                            f"Shapefile field names cut to 10 characters: {' and '.join(repr(c) for c in same)} could each "
                            f"be provenance_{roles[same[0]]}, so which of provenance_source, provenance_accuracy_m and "
                            "provenance_status each holds is not known",
                            "rename them provenance_source, provenance_accuracy_m and provenance_status (QGIS: Layer "
                            "Properties > Fields), or save the layer in a GeoPackage, which keeps whole names"))
    return frame.drop(columns=cut)


SHAPEFILE_TEXT_MAX = 254
"""The most characters a Shapefile's (DBF's) text field holds; GDAL cuts longer text there."""


def cut_json_text(frame: pd.DataFrame, file: str, layer: str, problems: list[Problem]) -> pd.DataFrame:
    """A layer whose JSON text values (a list or mapping, e.g. a transit line's ``stops``) were cut
    at :data:`SHAPEFILE_TEXT_MAX` characters: one problem per such value, naming the feature, and
    the value left out (it would only be reported again as "must be a list")."""
    import json

    cut: list[tuple[Any, str]] = []
    for column in frame.columns:
        for fid, value in frame[column].items():
            if isinstance(value, str) and len(value) == SHAPEFILE_TEXT_MAX and value.lstrip().startswith(("[", "{")):
                try:
                    json.loads(value)
                except ValueError:
                    cut.append((fid, str(column)))
    if not cut:
        return frame
    frame = frame.copy()
    for fid, column in cut:
        ident = frame.at[fid, "id"] if "id" in frame.columns else None
        where = f"layer {layer}, feature {fid}" + (f" ({ident})" if isinstance(ident, str) and ident else "")
        problems.append(Problem(file, f"{where}: {column}",
                                f"its JSON text is cut at {SHAPEFILE_TEXT_MAX} characters, the most a Shapefile's text "
                                "field holds, so it no longer reads as JSON",
                                "save the layer in a GeoPackage or FlatGeobuf file, which keep text whole"))
        frame.at[fid, column] = None
    return frame
