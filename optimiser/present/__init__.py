"""present: what a run shows a person, and the run directory it is kept in.

- ``metrics.py``   :class:`RunMetrics`, the typed ``metrics.json``
- ``rundir.py``    write and read a run directory (``write_run_dir``, ``load_run``, ``render_run``)
- ``geojson.py``   write RFC 7946 GeoJSON from site geometry
- ``layers.py``    the run in memory (``RunData``, ``Layout``, ``Feature``), extents, placement tags
- ``render.py``    draw a run: plan, distance map and report (``render_run_data``)
- ``plan.py``      the optimised plan, one drawing function per layer
- ``distance.py``  the per-firm distance map
- ``basemap.py``   parcels, barriers and paths under every map
- ``figure.py``    figures, map axes, scale bar, north arrow, saving
- ``labels.py``    label placement
- ``style.py``     colours and shared scales; ``formatting.py`` numbers and names
- ``report.py``    ``report.html`` from ``templates/report.html.j2``
- ``compare.py``   several runs side by side (``compare.png``, ``compare.html``)

Dependencies run one way: render -> plan, distance, report -> figure, basemap, labels ->
layers -> metrics; rundir -> layers (and render, when drawing); compare -> rundir, plan,
distance, report.
"""
