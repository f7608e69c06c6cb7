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
        if spec.rule == "sector_affinity" and n > 1:
            # the affinity of each pair of sectors once, then every firm pair a < b by index
            # (the order affinity() reads them in); mirrored below the diagonal
            sectors = sorted({f.sector for f in firms})
            code = {sec: k for k, sec in enumerate(sectors)}
            table = np.array([[affinity(spec, sa, sb) for sb in sectors] for sa in sectors], dtype=float)
            s = np.array([code[f.sector] for f in firms], dtype=np.int64)
            upper = np.triu(table[s[:, None], s[None, :]], k=1)
            w *= upper + upper.T
    index = {f.id: i for i, f in enumerate(firms)}
    for firm_a, firm_b, weight in spec.pairs:
        i, j = index[firm_a], index[firm_b]
        w[i, j] = w[j, i] = float(weight)
    np.fill_diagonal(w, 0.0)
    return w
