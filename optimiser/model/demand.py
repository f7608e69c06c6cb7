"""Firm-to-firm interaction weights (pure functions)."""

from __future__ import annotations

import logging

import numpy as np

from optimiser.inputs.domain import DemandSpec, Firm

logger = logging.getLogger(__name__)


def affinity(spec: DemandSpec, sector_a: str, sector_b: str) -> float:
    """Symmetric sector affinity factor (1.0 where the scenario says nothing)."""
    row = spec.sector_affinity.get(sector_a, {})
    if sector_b in row:
        return float(row[sector_b])
    back = spec.sector_affinity.get(sector_b, {})
    return float(back.get(sector_a, 1.0))


def pair_weights(firms: tuple[Firm, ...] | list[Firm], spec: DemandSpec) -> np.ndarray:
    """Symmetric (n, n) matrix of interaction weights w_ab >= 0 with a zero diagonal.

    ``employees_product``: e_a * e_b / 1000; ``sector_affinity``: that times the sectors'
    affinity; ``explicit``: only the listed pairs. Listed pairs replace the rule's value.
    """
    n = len(firms)
    w = np.zeros((n, n), dtype=float)
    if spec.rule != "explicit":
        e = np.array([f.employees for f in firms], dtype=float)
        w = np.outer(e, e) / 1000.0
        if spec.rule == "sector_affinity":
            for i in range(n):
                for j in range(i + 1, n):
                    a = affinity(spec, firms[i].sector, firms[j].sector)
                    w[i, j] *= a
                    w[j, i] *= a
    index = {f.id: i for i, f in enumerate(firms)}
    for firm_a, firm_b, weight in spec.pairs:
        i, j = index[firm_a], index[firm_b]
        w[i, j] = w[j, i] = float(weight)
    np.fill_diagonal(w, 0.0)
    return w
