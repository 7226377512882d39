"""HTML pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from registry.db import get_session
from registry.facilities import KIND_ORDER, get_count_table
from registry.kinds import KIND_SPECS, FacilityKind

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    """Dashboard: facilities per kind and per district."""
    table = get_count_table(get_session())
    kinds = [KIND_SPECS[FacilityKind(k)] for k in KIND_ORDER]
    return render_template("pages/home.html", table=table, kinds=kinds)
