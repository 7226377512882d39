"""Coverage pages and API: service radii, residents per facility, what-if, site selection, saved runs.

Thin views: arguments go to :mod:`registry.coverage.params`, the work to
:mod:`registry.coverage.service` / :mod:`registry.coverage.runs`, maps to
:mod:`maps.coverage`.  Bad input answers a JSON 400 naming the parameter on the
API, and the form again with the message on the pages.

Routes
------
``GET  /coverage``                       planner page (kind, radius, layer, filters, what-if sites)
``GET  /site-selection``, ``POST``       site-selection page (form; POST computes)
``POST /coverage/runs``                  save an analysis (recomputed from its parameters)
``GET  /coverage/runs``                  saved runs; ``/coverage/runs/<id>`` one run; ``/coverage/runs/compare``
``GET  /coverage/runs/<id>/export.<fmt>`` csv | geojson | png | html
``GET  /api/coverage``                   coverage JSON (``kind``, ``radius``, ``layer``, ``status``, ``where``, ...)
``POST /api/coverage/what-if``           before/after/delta JSON
``POST /api/site-selection``             chosen sites JSON (``"save": true`` stores the run)
``GET  /api/coverage/layers``, ``/api/coverage/runs``, ``/api/coverage/runs/<id>``, ``POST /api/coverage/runs``
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from registry.auth.permissions import check_request, require
from registry.auth.security import nonce_scripts
from registry.coverage import export, runs, service
from registry.coverage.layers import DEFAULT_LAYER, LayerImportError
from registry.coverage.params import (
    CoverageInputError,
    CoverageRequest,
    SiteRequest,
    coverage_request,
    site_request,
)
from registry.coverage.standards import STANDARDS
from registry.coverage.whatif import parse_scenario
from registry.db import get_session
from registry.kinds import KIND_SPECS
from registry.models import PG_INTEGER_MAX
from registry.web.errors import ApiError

bp = Blueprint("coverage", __name__)

MAX_BODY_CANDIDATES_BYTES = 20 * 1024 * 1024


# --------------------------------------------------------------------------- helpers
def _args() -> dict[str, Any]:
    """Query/form arguments with the repeatable ones as lists."""
    source = request.values
    out: dict[str, Any] = {k: source.get(k) for k in source}
    for key in ("status", "where"):
        values = [v for v in source.getlist(key) if v.strip()]
        out[key] = values or None
    return out


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("a JSON object body is required", "body")
    return body


def _api(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (CoverageInputError, LayerImportError) as exc:
        raise ApiError(str(exc), getattr(exc, "parameter", None)) from None
    except runs.RunNotFound as exc:
        raise ApiError(str(exc), "id", 404) from None


def _user_name() -> str | None:
    from registry.auth.identity import current_user

    user = current_user()
    return user.username if user is not None else None


def _standards() -> list[dict[str, Any]]:
    return [{"kind": k, "radii": ",".join(f"{r:g}" for r in s.radii_m), "target": s.residents_per_facility_max,
             "basis_zh": s.basis_zh, "basis_en": s.basis_en} for k, s in STANDARDS.items()]


def _layers() -> list[dict[str, Any]]:
    try:
        return service.get_layers(get_session())
    except Exception:  # noqa: BLE001 - the form still shows with the default layer
        return [{"name": DEFAULT_LAYER, "year": 2020, "is_modelled": True}]


def _page_error(exc: Exception) -> str:
    """The message shown on a page: which field to check (in the page's language), then the detail."""
    labels = {"kind": _("Kind"), "radius": _("Radius (m)"), "layer": _("Population layer"), "status": _("Status"),
              "where": _("Attribute filter (field:value, comma-separated)"), "as_of": _("As of"),
              "add": _("Add sites: lon,lat[,capacity[,name]] per line (WGS-84); click the map to add one"),
              "remove": _("Remove facilities (ids)"), "k": _("New sites (k)"), "solver": _("Solver"),
              "capacity": _("Capacity per new site (residents, optional)"), "candidates": _("Candidate sites"),
              "district": _("District")}
    field = labels.get(getattr(exc, "parameter", None) or "")
    if not field:
        return str(exc)
    prefix = _("Please check %(field)s:", field=field)
    return f"{prefix} {exc}"


def _map_srcdoc(res: dict[str, Any], facility_rows: list[list[Any]], kind: str, analysis: str,
                units: Any) -> Markup:
    """A map document for ``<iframe srcdoc>``: scripts carry this response's CSP nonce."""
    m = export.result_map(res, facility_rows, kind, analysis, units,
                          asset_base_url=url_for("static", filename="vendor"))
    doc = nonce_scripts(m.get_root().render())
    return Markup(html.escape(str(doc), quote=True))


def _map_name(srcdoc: Markup) -> str:
    import re

    found = re.search(r"var (map_[0-9a-f]+) = L\.map", html.unescape(str(srcdoc)))
    return found.group(1) if found else ""


# --------------------------------------------------------------------------- API
@bp.get("/api/coverage")
@require("coverage.read")
def api_coverage() -> Response:
    """Coverage of one kind: city and per census unit, distance distribution, 2SFCA, hot spots."""
    def run() -> Response:
        req = coverage_request(_args())
        return jsonify(service.get_coverage(get_session(), req).to_dict(req.hot_spots))
    return _api(run)


@bp.post("/api/coverage/what-if")
@require("coverage.read")
def api_whatif() -> Response:
    """Add/remove hypothetical sites (``add``: [{lon, lat, capacity, name}], ``remove``: [ids]); nothing is saved."""
    def run() -> Response:
        body = _body()
        req = coverage_request(body)
        scenario = parse_scenario(body.get("add"), body.get("remove"))
        return jsonify(service.get_whatif(get_session(), req, scenario).to_dict(req.hot_spots))
    return _api(run)


@bp.post("/api/site-selection")
@require("coverage.read")
def api_site_selection() -> Response:
    """Choose ``k`` new sites (MCLP).  ``"save": true`` also stores the run (needs ``analysis.save``)."""
    def run() -> Response:
        body = _body()
        save = bool(body.get("save"))
        if save:
            refused = check_request("analysis.save")
            if refused is not None:
                return refused
        req = site_request(body)
        session = get_session()
        analysis = service.get_site_selection(session, req)
        out = analysis.to_dict()
        if save:
            saved = runs.save_site_selection(session, analysis, title=body.get("title"), created_by=_user_name())
            session.commit()
            out["run_id"] = saved.id
            out["run_url"] = url_for("coverage.run_page", run_id=saved.id)
        return jsonify(out)
    return _api(run)


@bp.get("/api/coverage/layers")
@require("coverage.read")
def api_layers() -> Response:
    """Population layers: name, year, source, CRS, modelled or not, cells and total."""
    return jsonify({"layers": service.get_layers(get_session())})


@bp.get("/api/coverage/runs")
@require("coverage.read")
def api_runs() -> Response:
    """Saved runs, newest first (``kind``, ``analysis``, ``limit``)."""
    def run() -> Response:
        from registry.coverage.params import parse_int, parse_kind

        kind = parse_kind(request.args["kind"]) if request.args.get("kind") else None
        analysis = request.args.get("analysis") or None
        if analysis is not None and analysis not in runs.ANALYSES:
            raise CoverageInputError(f"analysis must be one of {', '.join(runs.ANALYSES)}", "analysis")
        limit = parse_int(request.args.get("limit"), "limit", 100, 1, 1000)
        found = runs.list_runs(get_session(), kind, analysis, limit)
        return jsonify({"runs": [runs.run_summary(r) for r in found]})
    return _api(run)


@bp.get("/api/coverage/runs/<int:run_id>")
@require("coverage.read")
def api_run(run_id: int) -> Response:
    """One saved run: summary, parameters and results."""
    def run() -> Response:
        r = runs.get_run(get_session(), run_id)
        return jsonify({**runs.run_summary(r), "params": r.params, "results": r.results})
    return _api(run)


@bp.get("/api/coverage/runs/compare")
@require("coverage.read")
def api_compare() -> Response:
    """Two runs side by side (``a``, ``b``): differing parameters, city and per-unit figures."""
    def run() -> Response:
        a, b = _two_runs()
        return jsonify(runs.compare_runs(a, b))
    return _api(run)


@bp.post("/api/coverage/runs")
def api_save_run() -> tuple[Response, int]:
    """Save an analysis: ``{"analysis": "coverage"|"whatif"|"site_selection", "params": {...}, "title": ...}``.

    The analysis is computed again from ``params`` and stored with its results.
    """
    def run() -> tuple[Response, int]:
        body = _body()
        saved = _save(get_session(), str(body.get("analysis") or "coverage"), body.get("params"), body.get("title"))
        return jsonify(runs.run_summary(saved) | {"url": url_for("coverage.run_page", run_id=saved.id)}), 201
    return _api(run)


def _save(session: Any, analysis: str, params: Any, title: Any) -> Any:
    if analysis not in runs.ANALYSES:
        raise CoverageInputError(f"analysis must be one of {', '.join(runs.ANALYSES)}", "analysis")
    if not isinstance(params, dict):
        raise CoverageInputError("params must be an object (the analysis parameters)", "params")
    title = str(title)[:200] if title else None
    if analysis == "site_selection":
        saved = runs.save_site_selection(session, service.get_site_selection(session, SiteRequest.from_params(params)),
                                         title=title, created_by=_user_name())
    elif analysis == "whatif":
        sc = params.get("scenario") or {}
        result = service.get_whatif(session, CoverageRequest.from_params(params),
                                    parse_scenario(sc.get("add"), sc.get("remove")))
        saved = runs.save_whatif(session, result, title=title, created_by=_user_name())
    else:
        saved = runs.save_coverage(session, service.get_coverage(session, CoverageRequest.from_params(params)),
                                   title=title, created_by=_user_name())
    session.commit()
    return saved


def _two_runs() -> tuple[Any, Any]:
    from registry.coverage.params import parse_int

    session = get_session()
    a = parse_int(request.args.get("a"), "a", 0, 1, PG_INTEGER_MAX)
    b = parse_int(request.args.get("b"), "b", 0, 1, PG_INTEGER_MAX)
    if not a or not b:
        raise CoverageInputError("give two run ids: a= and b=", "a" if not a else "b")
    return runs.get_run(session, a), runs.get_run(session, b)


# --------------------------------------------------------------------------- pages
def _form_context(**extra: Any) -> dict[str, Any]:
    return {"kinds": list(KIND_SPECS.values()), "layers": _layers(), "standards": _standards(),
            "default_layer": DEFAULT_LAYER, **extra}


@bp.get("/coverage")
@require("coverage.read")
def page() -> tuple[str, int] | str:
    """Planner page: form, and the results when a kind is chosen."""
    args = _args()
    if not args.get("kind"):
        return render_template("coverage/coverage.html", **_form_context(args=args, res=None))
    session = get_session()
    try:
        req = coverage_request(args)
        scenario = parse_scenario(args.get("add"), args.get("remove"))
        if scenario.empty:
            analysis = service.get_coverage(session, req)
            res, delta, frame, kind = analysis.to_dict(req.hot_spots), None, analysis.facilities, "coverage"
            units = analysis.units
        else:
            whatif = service.get_whatif(session, req, scenario)
            d = whatif.to_dict(req.hot_spots)
            res, delta, frame, kind = d["after"], d["delta"], whatif.after.facilities, "whatif"
            units = whatif.after.units
    except (CoverageInputError, LayerImportError) as exc:
        return render_template("coverage/coverage.html", **_form_context(
            args=args, res=None, error=_page_error(exc), error_parameter=getattr(exc, "parameter", None))), 400
    params = req.to_params() | ({"scenario": scenario.to_dict()} if not scenario.empty else {})
    srcdoc = _map_srcdoc(res, runs.facility_rows(frame), req.kind, kind, units)
    return render_template("coverage/coverage.html", **_form_context(
        args=args, res=res, delta=delta, analysis=kind, params_json=json.dumps(params, ensure_ascii=False),
        map_srcdoc=srcdoc, map_name=_map_name(srcdoc),
        api_url=url_for("coverage.api_coverage", **{k: v for k, v in request.args.items(multi=True)})))


@bp.get("/site-selection")
@require("coverage.read")
def site_page() -> str:
    """Site-selection form."""
    return render_template("coverage/site_selection.html", **_form_context(args=_args(), res=None))


@bp.post("/site-selection")
@require("coverage.read")
def site_run() -> tuple[str, int] | str:
    """Compute a site selection from the form (nothing is saved until the planner asks)."""
    args = _args()
    session = get_session()
    try:
        args["candidates"] = _form_candidates(args)
        req = site_request(args)
        analysis = service.get_site_selection(session, req)
    except (CoverageInputError, LayerImportError) as exc:
        return render_template("coverage/site_selection.html", **_form_context(
            args=args, res=None, error=_page_error(exc), error_parameter=getattr(exc, "parameter", None))), 400
    res = analysis.to_dict()
    srcdoc = _map_srcdoc(res, runs.facility_rows(analysis.facilities), req.kind, "site_selection", analysis.units)
    return render_template("coverage/site_selection.html", **_form_context(
        args=args, res=res, params_json=json.dumps(req.to_params(), ensure_ascii=False), map_srcdoc=srcdoc))


def _form_candidates(args: dict[str, Any]) -> Any:
    """Candidates from the form: a lattice spacing, pasted ``lon,lat[,name]`` lines or an uploaded file."""
    mode = args.get("candidate_mode") or "grid"
    if mode == "grid":
        return f"grid:{args.get('spacing') or 250}"
    upload = request.files.get("candidate_file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_BODY_CANDIDATES_BYTES + 1)
        if len(raw) > MAX_BODY_CANDIDATES_BYTES:
            raise CoverageInputError("the candidate file is larger than 20 MB", "candidates")
        name = upload.filename.lower()
        if name.endswith((".geojson", ".json")):
            try:
                obj = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise CoverageInputError("the candidate file is not valid GeoJSON", "candidates") from None
            features = obj.get("features") if isinstance(obj, dict) else None
            return {"type": "parcels", "features": features}
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if lines and not _looks_numeric(lines[0]):
            lines = lines[1:]  # header row
        return "\n".join(lines)
    points = (args.get("candidate_points") or "").strip()
    if not points:
        raise CoverageInputError("paste candidate points (lon,lat[,name] per line) or upload a file", "candidates")
    return points


def _looks_numeric(line: str) -> bool:
    head = line.replace("，", ",").split(",")[0].strip()
    try:
        float(head)
        return True
    except ValueError:
        return False


@bp.post("/coverage/runs")
def save_page() -> Response | tuple[str, int]:
    """Save the analysis shown on a page (recomputed from its parameters) and open it."""
    try:
        params = json.loads(request.form.get("params") or "null")
    except json.JSONDecodeError:
        params = None
    try:
        saved = _save(get_session(), request.form.get("analysis") or "coverage", params, request.form.get("title"))
    except (CoverageInputError, LayerImportError) as exc:
        return render_template("error.html", code=400, description=str(exc)), 400
    return redirect(url_for("coverage.run_page", run_id=saved.id), code=303)


@bp.get("/coverage/runs")
@require("coverage.read")
def runs_page() -> str:
    """Saved analyses, newest first, with a compare form."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in {k.value for k in KIND_SPECS}:
        kind = None
    found = runs.list_runs(get_session(), kind=kind, limit=200)
    return render_template("coverage/runs.html", runs=[runs.run_summary(r) for r in found], kind=kind,
                           kinds=list(KIND_SPECS.values()))


@bp.get("/coverage/runs/<int:run_id>")
@require("coverage.read")
def run_page(run_id: int) -> str:
    """A saved run: its parameters, figures, map and exports."""
    session = get_session()
    try:
        run = runs.get_run(session, run_id)
    except runs.RunNotFound:
        abort(404, description=_("No saved analysis with this number."))
    res = runs.main_results(run)
    units = service.load_units(session)
    srcdoc = _map_srcdoc(res, run.results.get("facilities") or [], run.kind, run.analysis, units)
    delta = run.results.get("delta") if run.analysis == "whatif" else None
    return render_template("coverage/run.html", run=run, summary=runs.run_summary(run), res=res, delta=delta,
                           map_srcdoc=srcdoc, params_json=json.dumps(run.params, ensure_ascii=False, indent=1),
                           rerun_url=_rerun_url(run))


def _rerun_url(run: Any) -> str:
    """The coverage page with a saved run's parameters (today's data)."""
    p = run.params
    if run.analysis == "site_selection":
        return url_for("coverage.site_page")
    f = p.get("filters") or {}
    sc = p.get("scenario") or {}
    add = "\n".join(",".join("" if v is None else str(v) for v in (s["lon"], s["lat"], s.get("capacity"), s.get("name")))
                    .rstrip(",") for s in sc.get("add") or [])
    args = {"kind": p["kind"], "radius": ",".join(f"{r:g}" for r in p.get("radius_m") or []) or "none",
            "layer": p.get("layer"), "status": ",".join(f.get("status") or []),
            "where": ",".join(f"{k}:{'unknown' if v is None else v}" for k, v in (f.get("where") or {}).items()),
            "district": f.get("district"), "as_of": p.get("as_of"), "add": add,
            "remove": ",".join(str(i) for i in sc.get("remove") or [])}
    return url_for("coverage.page", **{k: v for k, v in args.items() if v})


@bp.get("/coverage/runs/compare")
@require("coverage.read")
def compare_page() -> tuple[str, int] | str:
    """Two saved runs side by side."""
    try:
        a, b = _two_runs()
    except CoverageInputError as exc:
        return render_template("error.html", code=400, description=str(exc)), 400
    except runs.RunNotFound as exc:
        return render_template("error.html", code=404, description=str(exc)), 404
    return render_template("coverage/compare.html", cmp=runs.compare_runs(a, b))


@bp.get("/coverage/runs/<int:run_id>/export.<fmt>")
@require("coverage.read")
def export_run(run_id: int, fmt: str) -> Response:
    """Download a run: ``csv`` (``table=units|sites|hot_spots``), ``geojson``, ``png`` (``chart=units|distance``),
    ``html`` (standalone map)."""
    session = get_session()
    try:
        run = runs.get_run(session, run_id)
    except runs.RunNotFound:
        abort(404, description=_("No saved analysis with this number."))
    stem = f"coverage-run-{run.id}"
    try:
        if fmt == "csv":
            table = request.args.get("table") or None
            body = export.run_csv(run, table)
            return Response(body, mimetype="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{stem}-{table or "main"}.csv"'})
        if fmt == "geojson":
            body = json.dumps(export.run_geojson(run, service.load_units(session)), ensure_ascii=False)
            return Response(body, mimetype="application/geo+json",
                            headers={"Content-Disposition": f'attachment; filename="{stem}.geojson"'})
        if fmt == "png":
            chart = request.args.get("chart") or "units"
            return Response(export.run_png(run, chart), mimetype="image/png")
        if fmt == "html":
            body = export.run_html(run, service.load_units(session))
            return Response(body, mimetype="text/html; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{stem}.html"'})
    except ValueError as exc:
        abort(400, description=str(exc))
    abort(404, description=_("Unknown export format: use csv, geojson, png or html."))


# --------------------------------------------------------------------------- OpenAPI
def openapi_paths() -> dict[str, Any]:
    """This blueprint's part of the OpenAPI 3.0 document (paths under ``/api``), to merge into ``/api/openapi.json``."""
    def q(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}

    kinds = {"type": "string", "enum": [k.value for k in KIND_SPECS]}
    error = {"description": "bad input: the message names the parameter",
             "content": {"application/json": {"schema": {
                 "type": "object", "required": ["error", "status"],
                 "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                                "parameter": {"type": "string"}}}}}}
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    filters = [q("status", "facility status (repeatable or comma-separated)", {"type": "string"}),
               q("where", "attribute equality field:value (repeatable); 'unknown' matches missing values",
                 {"type": "string"}),
               q("district", "administrative district adcode", {"type": "string", "pattern": "^[0-9]{6}$"}),
               q("as_of", "only facilities recorded up to this date", {"type": "string", "format": "date"})]
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/coverage": {"get": {
            "summary": "覆盖分析 / Coverage of one kind per census unit and for the city",
            "description": "Residents per facility and per 100,000 (MUS-1 target), share within each radius, "
                           "nearest-distance distribution, 2SFCA, hot spots. Every result names its population "
                           "layer and radii.",
            "parameters": [q("kind", "facility kind", kinds, True),
                           q("radius", "metres, e.g. 300 or 500,1000; default: the standard; 'none'",
                             {"type": "string"}),
                           q("layer", "population layer (see /api/coverage/layers)",
                             {"type": "string", "default": DEFAULT_LAYER}),
                           *filters, q("hot_spots", "hot-spot cells per radius",
                                       {"type": "integer", "minimum": 0, "maximum": 5000, "default": 200})],
            "responses": {"200": ok, "400": error}}},
        "/coverage/what-if": {"post": {
            "summary": "情景模拟 / Coverage before and after hypothetical sites (nothing saved)",
            "description": "Body: the /api/coverage parameters plus add: [{lon, lat, capacity, name}], remove: [ids].",
            "requestBody": body, "responses": {"200": ok, "400": error}}},
        "/site-selection": {"post": {
            "summary": "选址 / Choose k new sites covering the most uncovered residents (MCLP)",
            "description": "Body: kind, radius, k, layer, status/where, candidates ({type: grid, spacing} | "
                           "{type: points, points} | {type: parcels, features}), solver (greedy | exact | both), "
                           "capacity, time_limit, save.",
            "requestBody": body, "responses": {"200": ok, "400": error}}},
        "/coverage/layers": {"get": {"summary": "人口图层 / Population layers", "responses": {"200": ok}}},
        "/coverage/runs": {
            "get": {"summary": "已保存的分析 / Saved runs",
                    "parameters": [q("kind", "facility kind", kinds), q("analysis", "coverage | whatif | "
                                   "site_selection", {"type": "string"}),
                                   q("limit", "at most", {"type": "integer", "minimum": 1, "maximum": 1000})],
                    "responses": {"200": ok, "400": error}},
            "post": {"summary": "保存分析 / Save an analysis (computed again from its parameters)",
                     "requestBody": body, "responses": {"201": ok, "400": error}}},
        "/coverage/runs/{run_id}": {"get": {
            "summary": "一次分析 / One saved run",
            "parameters": [{"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": ok, "404": error}}},
        "/coverage/runs/compare": {"get": {
            "summary": "比较 / Two runs side by side",
            "parameters": [q("a", "run id", {"type": "integer"}, True), q("b", "run id", {"type": "integer"}, True)],
            "responses": {"200": ok, "400": error, "404": error}}},
    }
