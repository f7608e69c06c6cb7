"""Export of a walking network: GeoJSON-like features (shapely geometry, working CRS) of its
edges and crossings, and summary counts for reports and ``siteopt network``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy.sparse.csgraph import connected_components

from optimiser.inputs.domain import Crossing
from optimiser.network.csr import EDGE_KINDS, KIND_CODE

if TYPE_CHECKING:
    from optimiser.network.graph import WalkNetwork

__all__ = ["crossing_features", "edge_features", "network_summary", "components"]

logger = logging.getLogger(__name__)


def crossing_features(crossings: Iterable[Crossing], kind: str = "candidate", currency: str | None = None) -> list[dict[str, Any]]:
    """GeoJSON-like features (working CRS) for crossings, one per crossing, with ``kind``,
    id, name, barrier, type, cost and its ``currency`` (the scenario's; ``None`` when not given,
    never a guessed pound), penalty and length (m) as properties."""
    return [
        {
            "type": "Feature",
            "geometry": c.line,
            "properties": {
                "kind": kind,
                "id": c.id,
                "name": c.name,
                "barrier_id": c.barrier_id,
                "type": c.type,
                "cost": float(c.cost),
                "currency": currency,
                "penalty_m": float(c.penalty_m),
                "length_m": round(c.length_m, 3),
                "existing": bool(c.existing),
            },
        }
        for c in crossings
    ]


def edge_features(net: WalkNetwork, kinds: Iterable[str] = ("path", "connector", "crossing", "candidate"),
                  currency: str | None = None) -> list[dict[str, Any]]:
    """GeoJSON-like features (geometry as shapely, working CRS) of the network's edges of the
    given kinds (``"candidate"``: the candidate crossings); ``length_m`` is the length a walk is
    charged, which for an existing crossing is its ``line_length_m`` plus its ``penalty_m``
    (both given); ``currency`` is the candidates' costs' (the scenario's); reproject with
    :func:`optimiser.present.geojson.to_wgs84_geojson`."""
    wanted = set(kinds)
    feats: list[dict[str, Any]] = []
    if any(k in wanted for k in EDGE_KINDS):
        segs = shapely.linestrings(np.stack([net.coords[net.edge_u], net.coords[net.edge_v]], axis=1))
        for e in range(net.n_edges):
            kind = EDGE_KINDS[int(net.edge_kind[e])]
            if kind not in wanted:
                continue
            geom = net.edge_geoms.get(e, segs[e])
            props: dict[str, Any] = {"kind": kind, "ref": net.edge_ref[e], "length_m": round(float(net.edge_length_m[e]), 3)}
            if kind == "crossing":  # length_m is what a walk is charged: the line's length plus the crossing's penalty
                line_m = float(geom.length)
                props.update(line_length_m=round(line_m, 3), penalty_m=round(max(0.0, float(net.edge_length_m[e]) - line_m), 3))
            feats.append({"type": "Feature", "geometry": geom, "properties": props})
    if "candidate" in wanted:
        feats.extend(crossing_features(net.candidates, kind="candidate", currency=currency))
    logger.debug("%d network features of kinds %s", len(feats), sorted(wanted))
    return feats


def components(net: WalkNetwork) -> int:
    """Number of connected components of the base graph."""
    return int(connected_components(net.csr, directed=False)[0])


def network_summary(net: WalkNetwork) -> dict[str, Any]:
    """Counts for reports: nodes, edges by kind, components, firms, points, unreachable keys
    and firm pairs, candidate crossings (kept and dropped), active barriers, build seconds."""
    fk = list(net.firm_keys)
    pairs_unreachable = 0
    if fk:
        comp = connected_components(net.csr, directed=False)[1]
        labels = [frozenset(int(comp[a]) for a in net.access[k]) for k in fk]
        for i in range(len(fk)):
            for j in range(i + 1, len(fk)):
                if not (labels[i] & labels[j]):
                    pairs_unreachable += 1
    by_kind = {k: int(np.sum(net.edge_kind == c)) for k, c in KIND_CODE.items()}
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "edges_by_kind": by_kind,
        "components": components(net),
        "firms": len(fk),
        "points": len(net.access) - len(fk),
        "unreachable": list(net.unreachable),
        "firm_pairs": len(fk) * (len(fk) - 1) // 2,
        "pairs_unreachable": pairs_unreachable,
        "candidate_crossings": len(net.candidates),
        "dropped_candidates": [list(x) for x in net.dropped_candidates],
        "active_barriers": [b.id for b in net.barriers],
        "derived_from_open_space": net.derived,
        "build_seconds": round(net.build_seconds, 4),
    }
