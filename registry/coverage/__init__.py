"""Coverage analysis for planners: residents per facility, service radii, who is left out, where to build.

Modules, each with one job:

``standards``  default radii and targets from the documents (GB 50180-2018, SR-16, MUS-1)
``inputs``     numpy containers: population grid, facility set, census units (EPSG:4547 metres)
``layers``     population layers: read CSV / GeoPackage / GeoJSON / GeoTIFF, store in PostGIS
``metrics``    the metrics, pure functions (KD-tree distances, 2SFCA, hot spots)
``whatif``     hypothetical sites added or removed, and the change in every metric
``siting``     site selection (MCLP): lazy greedy with a proven bound, exact CBC model
``params``     parsing and validation of analysis parameters (API, pages, CLI)
``service``    reading layers and facilities from PostGIS, caching, running the metrics
``cache``      in-process caches of grids and nearest distances
``runs``       saved analyses: store, re-open, re-run, compare
``export``     CSV, GeoJSON, PNG charts and standalone HTML maps of a run

See docs/COVERAGE.md.
"""
