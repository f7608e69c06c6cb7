"""The scenario's ``transit:`` section: its references into the site, and the validated
:class:`~optimiser.inputs.domain.TransitSpec`.

``transit`` asks for new stops along the site's transit alignments (site ``transit:``).
With ``objective: max_coverage`` or ``min_mean_walk`` the transit term is the run's whole
objective, so the scenario's other walking weights are set to 0 and facilities or social
spaces (which would then be placed for nothing) are refused; ``weighted`` adds the term beside
the others.
"""

from __future__ import annotations

import logging
from typing import Any

from optimiser.errors import Problem
from optimiser.inputs import schema as S
from optimiser.inputs.domain import CountRange, ObjectiveWeights, Site, TransitSpec
from optimiser.inputs.geometry import GeometryReader
from optimiser.inputs.messages import unknown_reference
from optimiser.inputs.money_fields import amount

logger = logging.getLogger(__name__)

EXCLUSIVE_OBJECTIVES = ("max_coverage", "min_mean_walk")
"""Transit objectives that are the run's whole objective."""


def transit_problems(data: dict[str, Any], site: Site, file: str) -> list[Problem]:
    """References of a raw scenario's ``transit`` section into its site, and combinations that
    cannot be meant (an exclusive transit objective beside facilities or social spaces)."""
    tr = data.get("transit")
    if not isinstance(tr, dict):
        return []
    problems = []
    line_ids = [t.id for t in site.transit]
    if not line_ids:
        problems.append(Problem(file, "transit", f"site {site.id!r} has no transit alignment to place stops on",
                                "add a `transit:` line to the site file (sites/README.md), or drop this section"))
    lines = tr.get("lines")
    if isinstance(lines, list) and not lines and line_ids:
        problems.append(Problem(file, "transit.lines", "names no alignment, so no stop could be placed",
                                f"name at least one of {', '.join(map(repr, line_ids))}, or leave `lines` out for all"))
    seen: set[str] = set()
    for i, ref in enumerate(lines if isinstance(lines, list) else []):
        if isinstance(ref, str) and line_ids and ref not in line_ids:
            problems.append(unknown_reference(file, f"transit.lines[{i}]", "transit line", ref, line_ids))
        elif isinstance(ref, str) and ref in seen:
            problems.append(Problem(file, f"transit.lines[{i}]", f"line {ref!r} is named twice", "name each alignment once"))
        if isinstance(ref, str):
            seen.add(ref)
    objective = tr.get("objective", TransitSpec.objective)
    if objective in EXCLUSIVE_OBJECTIVES:
        for key in ("facilities", "social_spaces"):
            if data.get(key):
                problems.append(Problem(file, "transit.objective",
                                        f"objective {objective!r} is the run's whole objective, so the {key.replace('_', ' ')} "
                                        "would be placed for nothing",
                                        "use `objective: weighted` to place them beside the stops, or drop them"))
    return problems


def transit_spec(parsed: S.ScenarioFile, geo: GeometryReader) -> TransitSpec | None:
    """The validated transit specification (``None`` when the scenario has no ``transit``)."""
    t = parsed.transit
    if t is None:
        return None
    count = CountRange(t.count, t.count) if isinstance(t.count, int) else CountRange(t.count.min, t.count.max)
    zones = []
    for i, z in enumerate(t.no_platform):
        poly = geo.polygon(z.model_dump(), f"transit.no_platform[{i}]")
        if poly is not None:
            zones.append(poly)
    return TransitSpec(count, amount(t), t.catchment_m, t.objective, t.weight, t.min_spacing_m, t.candidate_spacing_m,
                       tuple(zones), tuple(t.lines) if t.lines is not None else None, t.alternatives)


def objective_weights(weights: ObjectiveWeights, transit: TransitSpec | None) -> ObjectiveWeights:
    """The scenario's objective weights: all 0 when the transit term is the whole objective."""
    if transit is not None and transit.exclusive:
        if (weights.firm_pairs, weights.facility_access, weights.social_access) != (0.0, 0.0, 0.0):
            logger.info("transit objective %s is the whole objective: firm pairs, facility and social access weigh 0",
                        transit.objective)
        return ObjectiveWeights(0.0, 0.0, 0.0)
    return weights
