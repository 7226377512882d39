"""Stored compliance verdicts: evaluate the registry from PostGIS, persist findings, keep them current.

The rule engine (:mod:`registry.compliance`) is pure; this package feeds it
from the database in bulk and stores what it says:

* :func:`run_check` — every facility (or some kinds), the census units and the city;
* :func:`recheck` — some facilities after an import, edit or delete, *and* the
  cross-kind neighbours they touch (call it in the same transaction);
* :func:`get_facility_findings`, :func:`get_rule_counts`, :func:`get_summary`,
  :func:`get_dashboard`, :func:`get_rectification`, :func:`iter_finding_rows` —
  read the stored findings for pages, API and exports (or evaluate them live for
  another as-of date).
"""

from registry.compliance_db.read import (
    get_dashboard,
    get_facility_findings,
    get_rectification,
    get_rule_counts,
    get_summary,
    iter_finding_rows,
    latest_run,
)
from registry.compliance_db.service import (
    CheckReport,
    recheck,
    recheck_layers,
    run_check,
)

__all__ = [
    "CheckReport",
    "get_dashboard",
    "get_facility_findings",
    "get_rectification",
    "get_rule_counts",
    "get_summary",
    "iter_finding_rows",
    "latest_run",
    "recheck",
    "recheck_layers",
    "run_check",
]
