"""Rich display in Jupyter: ``_repr_html_`` of a site, a run directory and a run result.

Each shows a plan thumbnail (the run's ``plan.png`` when it has one, else a small drawing of the
geometry) as an inline base64 PNG, and the key figures in a table. Only matplotlib and the plan
style are used here, so a site can show itself without the pipeline being imported.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from optimiser.inputs.domain import Site
    from optimiser.present.metrics import RunMetrics

logger = logging.getLogger(__name__)

__all__ = ["site_html", "run_html", "figures_table", "png_img"]

THUMB_WIDTH_PX = 420


def png_img(png: bytes, alt: str, width_px: int = THUMB_WIDTH_PX) -> str:
    """An ``<img>`` holding ``png`` inline (base64)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="width:{width_px}px;max-width:100%"/>'


def figures_table(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column HTML table of (label, value) rows."""
    cells = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                    f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _layout(title: str, img: str, table: str) -> str:
    return (f"<div><b>{html.escape(title)}</b><div style='display:flex;gap:1em;align-items:flex-start'>"
            f"<div>{img}</div><div>{table}</div></div></div>")


def _thumbnail(draw: Any) -> bytes:
    """A small PNG drawn by ``draw(ax)`` (no axes, equal aspect)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 3.2), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    draw(ax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _draw_site(ax: Any, site: Site) -> None:
    from matplotlib.patches import PathPatch

    from optimiser.present.rings import poly_path
    from optimiser.present.style import CARRIAGEWAY_FC, EXISTING_CROSSING_C, FIRM_C, PATH_C, RAIL_EC, parcel_style

    for p in site.parcels:
        st = parcel_style(p.status.value)
        path = poly_path(p.polygon)  # holes stay holes, as on the plan
        if path is not None:
            ax.add_patch(PathPatch(path, fc=st.fc, ec=st.ec, lw=0.5))
    for w in site.paths:
        x, y = w.line.xy
        ax.plot(x, y, color=PATH_C, lw=0.6)
    for b in site.barriers:
        x, y = b.centreline.xy
        rail = not b.kind.is_road
        ax.plot(x, y, color=RAIL_EC if rail else CARRIAGEWAY_FC, lw=1.5 if rail else 3.0, ls="--" if rail else "-")
    for c in site.crossings:
        x, y = c.line.xy
        ax.plot(x, y, color=EXISTING_CROSSING_C, lw=2.0)
    if site.firms:
        emp = max(f.employees for f in site.firms)
        ax.scatter([f.location.x for f in site.firms], [f.location.y for f in site.firms],
                   s=[8 + 80 * f.employees / emp for f in site.firms], c=FIRM_C, edgecolors="white", linewidths=0.5, zorder=5)


def site_html(site: Site) -> str:
    """The HTML a notebook shows for a :class:`~optimiser.inputs.domain.Site`."""
    rows = [("id", site.id), ("CRS (working)", site.crs), ("firms", len(site.firms)),
            ("employees", f"{sum(f.employees for f in site.firms):,}"), ("parcels", len(site.parcels)),
            ("barriers", ", ".join(f"{b.id} ({b.kind.value})" for b in site.barriers) or "none"),
            ("paths", len(site.paths)), ("existing crossings", len(site.crossings)),
            ("exclusion zones", len(site.exclusion_zones))]
    if site.layers:
        rows.append(("scenario layers", ", ".join(site.layers)))
    if site.illustrative:
        rows.append(("geometry", "illustrative, not surveyed"))
    img = png_img(_thumbnail(lambda ax: _draw_site(ax, site)), f"plan of {site.id}")
    return _layout(f"Site {site.name}", img, figures_table(rows))


def _metric_rows(m: RunMetrics) -> list[tuple[str, Any]]:
    def num(v: float | None, fmt: str = "{:,.1f}") -> str:
        return "n/a" if v is None else fmt.format(v)

    pl = m.placements
    return [("status", m.status), ("scenario", m.scenario.id), ("site", m.site.id),
            ("weighted mean walk before (m)", num(m.walk.baseline_weighted_mean_m)),
            ("weighted mean walk after (m)", num(m.walk.optimised_weighted_mean_m)),
            ("walk reduction (%)", num(m.walk.reduction_pct, "{:.1f}")),
            ("capital cost / budget", f"{num(m.cost.capital, '{:,.0f}')} / {num(m.cost.budget, '{:,.0f}')}"),
            ("new crossings", ", ".join(p.id for p in pl.crossings) or "none"),
            ("shared facilities", ", ".join(p.id for p in pl.shared_facilities) or "none"),
            ("social spaces", ", ".join(p.id for p in pl.social_spaces) or "none"),
            ("gap", num(m.gap, "{:.4f}")), ("verified", m.verification.passed)]


def run_html(metrics: RunMetrics, run_dir: Path | None, layout_draw: Any = None) -> str:
    """The HTML a notebook shows for a run: its ``plan.png`` (or ``layout_draw(ax)``) and key figures."""
    plan = run_dir / "plan.png" if run_dir is not None else None
    if plan is not None and plan.is_file():
        img = png_img(plan.read_bytes(), "plan")
    elif layout_draw is not None:
        img = png_img(_thumbnail(layout_draw), "layout")
    else:
        img = ""
    title = f"Run {metrics.scenario.name or metrics.scenario.id}" + (f" ({run_dir})" if run_dir is not None else "")
    return _layout(title, img, figures_table(_metric_rows(metrics)))


def draw_layout_features(ax: Any, features: Iterable[Any]) -> None:
    """A plain drawing of layout features (``.layer``, ``.geometry``): site in grey, placements coloured."""
    from matplotlib.patches import PathPatch

    from optimiser.present.rings import poly_path
    from optimiser.present.style import CROSSING_C, FACILITY_C, FIRM_C, PATH_C, SOCIAL_C

    colours = {"crossing": CROSSING_C, "facility": FACILITY_C, "social_space": SOCIAL_C, "firm": FIRM_C}
    for f in features:
        g = f.geometry
        c = colours.get(f.layer, PATH_C)
        if g.geom_type in ("Polygon", "MultiPolygon") and f.layer == "parcel":
            path = poly_path(g)
            if path is not None:
                ax.add_patch(PathPatch(path, fc="#eeeeee", ec="#bbbbbb", lw=0.4))
        elif g.geom_type == "LineString" and f.layer in ("path", "barrier", "crossing", "existing_crossing"):
            x, y = g.xy
            ax.plot(x, y, color=c, lw=2.0 if f.layer != "path" else 0.6)
        elif g.geom_type == "Point" and f.layer in colours:
            ax.plot([g.x], [g.y], "o", color=c, ms=6 if f.layer != "firm" else 3)
