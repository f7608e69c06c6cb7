"""How big a scenario's model will be, estimated from the inputs alone before anything is
built, so that a model that cannot fit in memory or be built within the time limit stops at
once with the setting to change (exit 2) instead of running for minutes or dying of
``MemoryError``.

The estimate counts what drives the build: candidate grid points (from each parcel's bounding
box and the candidate spacing), candidate crossings (from each barrier's length and the
crossing spacing), firm pairs with a positive weight, and firms x candidate sites. The build
time (candidates, walking network and problem: :func:`optimiser.pipeline.prepare`) is a sum of
those terms, fitted to 19 scenarios measured on the 2-core development machine on 2026-12-05
(load 1-2; ``benchmarks/joint`` districts of 40-1,000 firms, 10-200 crossings and 16-790 candidate
sites, four ``benchmarks/realsites`` problems, both embedded sites, and three user sites of 8
firms, 134 crossings and 241-2,347 candidate sites: 0.035-6.6 s), within a factor of 2 either
way, then doubled (:data:`TIME_SAFETY`) so that it errs on the slow side (1.0-3.1x the
measured times). The fit it replaces, made before the build was vectorised, was 5-73x the build
measured now and refused models that build in under a second. Memory follows a power law
measured on the same districts (an upper bound: 3.5 GB estimated for the 500-firm district,
1.0 GB measured). A model is refused only when the estimate exceeds the limit by
:data:`TIME_MARGIN` (time) or the memory available; a build that overruns the limit anyway is
stopped by the run's clock (:class:`~optimiser.errors.TimeLimitError`, naming the phase).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field

from optimiser.errors import ModelTooLargeError
from optimiser.inputs.domain import ParcelStatus, Scenario
from optimiser.model.terms import firm_pairs
from optimiser.network.crossings import candidate_crossing_count

logger = logging.getLogger(__name__)

__all__ = ["SizeEstimate", "estimate_model_size", "check_model_size", "available_memory_bytes", "TIME_MARGIN"]

TIME_MARGIN = 2.0
"""A model is refused when its estimated build time exceeds the time limit this many times."""
TIME_SAFETY = 2.0
"""The fitted build time is multiplied by this (the fit is within a factor of 2 of the measured)."""
_BASE_S = 0.0123
"""Build seconds of any scenario (reading the network, the problem's frame)."""
_GRID_POINT_S = 8.47e-5
"""Seconds per candidate grid point tested (square footprint, containment, clearances)."""
_FIRM_SITE_S = 9.88e-6
"""Seconds per firm x candidate site (the walks from each firm to each site, their options)."""
_CROSSING_S = 1.96e-4
"""Seconds per candidate crossing (plus one) attached to the walking network."""
_CROSSING_PAIR_S = 1.05e-5
"""Seconds per pair of candidate crossings (plus one): routes over two crossings."""
_PAIR_S = 4.55e-7
"""Seconds per firm pair x (crossings + 1) ** :data:`_PAIR_EXP` (each pair's route options)."""
_PAIR_EXP = 0.9
_CLOSE_PAIR_S = 8.2e-7
"""Seconds per candidate site x the candidates of its kind closer than its ``min_spacing_m`` (the
spacing constraints between them; 2026-12-05: 3,462 facility sites 400 m apart on a 10 m grid built
in 9.8 s, 1,400 transit stops 300 m apart every 1 m in 0.69 s, both 8.2e-7 s each)."""
_SITE_BYTES = 2000.0
"""Bytes per candidate site (its footprint polygon, network node and rows)."""
_MODEL_BYTES = 29.0
"""Model bytes per (client x (crossings + 1) ** _MEM_EXP)."""
_MEM_EXP = 1.12
_BASE_BYTES = 150e6
"""The process before any model (Python, NumPy, shapely, OR-Tools)."""
_COUNT_CAP = 10**12
"""Grid points, candidate sites or crossings counted at most (far past any model that builds): a
1e-300 m spacing gives 1e303 positions, whose square no float holds."""


@dataclass(frozen=True)
class SizeEstimate:
    """What a scenario's model will need, estimated before building it.

    Attributes:
        firms, pairs: firms, and firm pairs with a positive interaction weight.
        grid_points: candidate grid points to test, by setting (e.g.
            ``facilities[0].candidate_spacing_m``).
        sites_by_setting: candidate sites expected (inner area / spacing squared), by setting.
        crossings: candidate crossings, by setting (``crossings.spacing_m`` or the site's rule).
        memory_bytes, build_seconds: the estimated peak memory and time to build the model.
    """

    firms: int
    pairs: int
    grid_points: dict[str, int]
    sites_by_setting: dict[str, int]
    crossings: dict[str, int]
    memory_bytes: float
    build_seconds: float
    close_pairs: dict[str, float] = field(default_factory=dict)
    """Candidate sites x the sites of their kind within ``min_spacing_m``, by setting."""

    @property
    def sites(self) -> int:
        """Candidate sites expected, facilities and social spaces."""
        return sum(self.sites_by_setting.values())

    @property
    def n_crossings(self) -> int:
        return sum(self.crossings.values())

    def settings(self) -> list[tuple[str, float]]:
        """The settings that drive the build time, largest share first: ``(name, seconds)``:
        each candidate spacing its grid points and its sites' walks, the crossing setting with the
        most candidates the crossings' terms, ``firms`` the firm pairs' route options."""
        c1 = self.n_crossings + 1
        rows = [(name, TIME_SAFETY * (n * _GRID_POINT_S + self.firms * self.sites_by_setting.get(name, 0) * _FIRM_SITE_S
                                      + self.close_pairs.get(name, 0.0) * _CLOSE_PAIR_S))
                for name, n in self.grid_points.items()]
        if self.crossings:
            rows.append((max(self.crossings, key=lambda k: self.crossings[k]),
                         TIME_SAFETY * (_CROSSING_S * c1 + _CROSSING_PAIR_S * c1 * c1)))
        rows.append(("firms", TIME_SAFETY * _PAIR_S * self.pairs * c1**_PAIR_EXP))
        return sorted(rows, key=lambda r: -r[1])

    def as_dict(self) -> dict[str, float | int]:
        return {"firms": self.firms, "pairs": self.pairs, "grid_points": sum(self.grid_points.values()),
                "candidate_sites": self.sites, "candidate_crossings": self.n_crossings,
                "memory_mb": round(self.memory_bytes / 1e6, 1), "build_seconds": round(self.build_seconds, 2)}


def _grid_points(scenario: Scenario) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """Grid points tested, candidate sites expected, and sites x the sites within their
    ``min_spacing_m`` (a disc on the grid, a stretch of line for stops), per spacing setting."""
    parcels = scenario.site.parcels
    points: dict[str, int] = {}
    sites: dict[str, int] = {}
    close: dict[str, float] = {}

    def count(status: ParcelStatus, spacing: float, footprint_m2: float) -> tuple[int, float]:
        n, expected = 0, 0.0
        for p in parcels:
            if p.status != status:
                continue
            minx, miny, maxx, maxy = p.polygon.bounds
            n += (int(min((maxx - minx) / spacing, _COUNT_CAP)) + 2) * (int(min((maxy - miny) / spacing, _COUNT_CAP)) + 2)
            inner = max(0.0, p.polygon.area - p.polygon.length * math.sqrt(footprint_m2) / 2)
            expected += min(inner / spacing / spacing, _COUNT_CAP)  # not spacing * spacing: 1e-300 squared is 0
        return min(n, _COUNT_CAP), min(expected, _COUNT_CAP)

    for i, spec in enumerate(scenario.facilities):
        n, e = count(ParcelStatus.BUILDABLE, spec.candidate_spacing_m, spec.footprint_m2)
        points[f"facilities[{i}].candidate_spacing_m"] = n
        sites[f"facilities[{i}].candidate_spacing_m"] = int(math.ceil(e))
        close[f"facilities[{i}].candidate_spacing_m"] = e * _within(e, spec.min_spacing_m, spec.candidate_spacing_m)
    soc = scenario.social_spaces
    if soc is not None:
        n, e = count(ParcelStatus.OPEN_SPACE, soc.candidate_spacing_m, soc.footprint_m2)
        points["social_spaces.candidate_spacing_m"] = n
        sites["social_spaces.candidate_spacing_m"] = int(math.ceil(e))
        close["social_spaces.candidate_spacing_m"] = e * _within(e, soc.min_spacing_m, soc.candidate_spacing_m)
    if scenario.transit is not None:  # a stop every candidate_spacing_m along each line (stop_candidates)
        spacing = scenario.transit.candidate_spacing_m
        stops = sum(min(max(1.0, float(t.line.length) / spacing), _COUNT_CAP) for t in scenario.transit_lines)
        points["transit.candidate_spacing_m"] = sites["transit.candidate_spacing_m"] = int(min(stops, _COUNT_CAP))
        close["transit.candidate_spacing_m"] = stops * min(stops, 2 * scenario.transit.min_spacing_m / spacing + 1)
    return points, sites, close


def _within(sites: float, min_spacing: float, spacing: float) -> float:
    """The candidate sites (of ``sites``) on a grid of ``spacing`` within ``min_spacing`` of one:
    a disc of grid points, the ratio capped first (1e-300 m apart: no float holds its square)."""
    return min(sites, math.pi * min(min_spacing / spacing, _COUNT_CAP) ** 2)


def _crossings(scenario: Scenario) -> dict[str, int]:
    spec = scenario.crossings
    if not spec.types:
        return {}
    out: dict[str, int] = {}
    rules = {r.barrier_id: i for i, r in enumerate(scenario.site.crossing_rules)}
    for bar_id, _, n in candidate_crossing_count(scenario.site, scenario.active_barriers, spec):
        name = "crossings.spacing_m" if spec.spacing_m is not None else f"the site's crossing_rules[{rules.get(bar_id, 0)}].spacing_m"
        out[name] = min(out.get(name, 0) + n, _COUNT_CAP)
    if spec.explicit:
        out["crossings.explicit"] = len(spec.explicit)
    return out


def estimate_model_size(scenario: Scenario, *, network_only: bool = False) -> SizeEstimate:
    """Estimate the model of ``scenario`` from its inputs (milliseconds; nothing is built).

    With ``network_only`` only what ``siteopt network`` builds is counted: the candidates and the
    walking network, not the firm pairs' route options nor the walks between firms (``pairs`` 0)."""
    firms = list(scenario.site.firms)
    pairs = len(firm_pairs(firms, scenario.demand)[0]) if len(firms) > 1 and not network_only else 0
    grid, by_setting, close = _grid_points(scenario)
    crossings = _crossings(scenario)
    sites = sum(by_setting.values())
    c = sum(crossings.values())
    clients = pairs + len(firms) * sites
    c1 = c + 1
    build_s = TIME_SAFETY * (_BASE_S + sum(grid.values()) * _GRID_POINT_S + len(firms) * sites * _FIRM_SITE_S
                             + _CROSSING_S * c1 + _CROSSING_PAIR_S * c1 * c1 + _PAIR_S * pairs * c1**_PAIR_EXP
                             + _CLOSE_PAIR_S * sum(close.values()))
    nodes = sum(len(w.line.coords) for w in scenario.site.paths) + 2 * len(firms) + sites + 4 * c
    walks = 0 if network_only else len(firms) * (len(firms) + sites) * c  # firm x firm-or-site x crossing
    dense = 8.0 * (14 * (2 * c) ** 2 + 2 * c * nodes + len(firms) * nodes + walks)
    memory = (_BASE_BYTES + dense + _MODEL_BYTES * clients * c1**_MEM_EXP + 200.0 * sum(grid.values())
              + _SITE_BYTES * sites)
    return SizeEstimate(len(firms), pairs, grid, by_setting, crossings, memory, build_s, close)


def available_memory_bytes() -> float | None:
    """Memory this process may still use: ``MemAvailable`` (Linux), capped by ``RLIMIT_AS``;
    ``None`` when unknown."""
    avail: float | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = float(line.split()[1]) * 1024
                    break
    except OSError:
        avail = None
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft not in (resource.RLIM_INFINITY, -1):
            avail = float(soft) if avail is None else min(avail, float(soft))
    except (ImportError, OSError, ValueError):
        pass
    env = os.environ.get("SITEOPT_MEMORY_LIMIT_MB")
    if env:
        avail = float(env) * 1e6 if avail is None else min(avail, float(env) * 1e6)
    return avail


def _count(n: int) -> str:
    """A count for a message: ``over 1,000,000,000,000`` when it reached :data:`_COUNT_CAP` (a
    count stops there: the real one is larger)."""
    return f"over {_COUNT_CAP:,}" if n >= _COUNT_CAP else f"{n:,}"


def _setting_hint(est: SizeEstimate, name: str) -> str:
    """What to change, for the setting ``name`` that drives the build (``est.settings()[0]``)."""
    if name == "firms":
        return (f"the model has {est.firms:,} firms ({est.pairs:,} weighted pairs): group small firms, "
                "or restrict demand.pairs")
    if name.startswith("crossings.explicit"):
        return "list fewer explicit candidate crossings"
    if "crossing" in name:
        return f"raise {name} ({_count(est.n_crossings)} candidate crossings now), or restrict crossings.barriers"
    if name.startswith("transit."):
        return f"raise {name} ({_count(est.sites_by_setting[name])} candidate stops now)"
    return (f"raise {name} ({_count(est.sites_by_setting[name])} candidate sites from "
            f"{_count(est.grid_points[name])} grid points now)")


def _setting_field(name: str) -> tuple[str, bool]:
    """The field path of the setting ``name`` (in the file that holds it), or ``""``, and whether
    that file is the site's."""
    return ("", False) if name == "firms" else (name.removeprefix("the site's "), name.startswith("the site's "))


def _seconds(s: float) -> str:
    """Seconds for a message: whole above 10, else two significant figures (0.34 s, not 0 s)."""
    return f"{s:,.0f} s" if s >= 10 else f"{s:.2g} s"


def check_model_size(scenario: Scenario, time_limit_s: float, memory_bytes: float | None = None, *,
                     network_only: bool = False) -> SizeEstimate:
    """Estimate the model and refuse one that cannot be built in time or in memory.

    Args:
        scenario: the validated scenario.
        time_limit_s: the run's whole time limit.
        memory_bytes: memory available (default :func:`available_memory_bytes`).
        network_only: count only the candidates and the walking network (``siteopt network``).

    Raises:
        ModelTooLargeError: the estimated memory exceeds what is available, or the estimated
            build time exceeds ``TIME_MARGIN`` x the time limit; the message names the setting.
    """
    est = estimate_model_size(scenario, network_only=network_only)
    avail = memory_bytes if memory_bytes is not None else available_memory_bytes()
    logger.info("model size estimate: %s (memory available %s MB)", est.as_dict(),
                "?" if avail is None else f"{avail / 1e6:,.0f}")
    name = est.settings()[0][0]  # the setting that drives the build, named by a refusal
    if avail is not None and est.memory_bytes > avail:
        gib = est.memory_bytes / 2**30
        need = f"about {gib:,.1f} GiB" if gib < 1e6 else "over a million GiB"  # not 476,837,158,208,005,440.0
        raise ModelTooLargeError(f"the model would need {need} of memory, "
                                 f"more than the {avail / 2**30:,.1f} GiB available; {_setting_hint(est, name)}",
                                 *_setting_field(name))
    if est.build_seconds > TIME_MARGIN * time_limit_s:
        raise ModelTooLargeError(f"the model would take about {_seconds(est.build_seconds)} to build, far beyond the "
                                 f"time limit of {time_limit_s:g} s; {_setting_hint(est, name)}, or raise --time-limit",
                                 *_setting_field(name))
    return est
