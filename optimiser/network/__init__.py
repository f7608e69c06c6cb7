"""Walking network: pipeline step 3, from a site's geometry to walking lengths.

Modules by concern (import from them directly; this package imports nothing eagerly):

- ``graph``: the :class:`WalkNetwork` data type (nodes, CSR graph, key lookups), ``firm_key``;
- ``builder``: ``build_walk_network`` (paths or open space -> barrier-aware graph, step by step);
- ``crossings``: candidate crossing generation and attaching crossings across a barrier band;
- ``candidates``: all candidates together (``build_candidates`` -> ``Candidates``: facility and
  social-space sites, candidate crossings, the points to attach);
- ``distances``: walking lengths (with candidate crossings switched on), straight lengths,
  detour ratios;
- ``walks``: the shortest route along real edges (for rendering);
- ``features``: GeoJSON-like features of edges and crossings, summary counts;
- ``csr``: sparse-graph primitives (edge kinds, CSR build, Dijkstra rows, (min, +) combination);
- ``routes``: route options (the non-dominated ways between two places via new crossings).
"""
