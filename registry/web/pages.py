"""HTML pages: dashboard, facility lists, facility detail, radius query.

Views stay thin: they parse request arguments into a :class:`registry.query.Query`
(the query layer validates them and names a bad parameter), run it, and hand
plain rows to the templates in ``templates/pages`` and ``templates/facilities``.
Maps are separate documents (:mod:`registry.web.mapviews`) shown in iframes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from registry import cql2, localtime
from registry import query as ql
from registry.db import get_session
from registry.facilities import KIND_ORDER, get_count_table
from registry.i18n import current_lang
from registry.kinds import (
    COMMON_FIELDS,
    KIND_SPECS,
    FacilityKind,
    FieldSpec,
    FieldType,
    KindSpec,
)
from registry.mapdata import get_compliance_counts
from registry.web import mapviews

bp = Blueprint("pages", __name__)

PAGE_SIZES = (25, 50, 100, 200)
EXPORT_LIMIT = 200_000
COMPLIANCE_CODES = ("compliant", "non_compliant", "unknown")

#: Attributes shown as columns of the list of each kind (all attributes are on the detail page).
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "museum": ("category", "grade", "ownership"),
    "study_room": ("seats", "volumes", "floor_area_m2"),
    "parking_lot": ("parking_type", "spaces", "ev_chargers"),
    "elevator": ("elevator_type", "last_inspection_date", "inspection_result"),
    "kindergarten": ("operator_type", "places", "licensed"),
}

#: Columns the list can be sorted by (besides the key attributes of the kind).
SORTABLE = ("name", "district", "status", "external_id", "id")


# --------------------------------------------------------------------------- template helpers
@bp.app_template_global()
def query_with(**changes: Any) -> str:
    """The current query string (with ``?``) with some arguments changed (``None`` removes one)."""
    args = MultiDict(request.args)
    for key, value in changes.items():
        args.poplist(key)
        if value is not None and value != "":
            args[key] = str(value)
    query = urlencode(list(args.items(multi=True)))
    return "?" + query if query else ""


@bp.app_template_global()
def url_with(**changes: Any) -> str:
    """The current URL with some query arguments changed (``None`` removes one)."""
    return request.script_root + request.path + query_with(**changes)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The registry's icon (browsers ask for it at this address)."""
    from flask import current_app

    return current_app.send_static_file("img/favicon.svg")


@bp.app_template_global()
def label_of(item: Any) -> str:
    """The label of a kind spec, field spec or choice in the current language."""
    if item is None:
        return ""
    return item.en if current_lang() == "en" else item.zh


@bp.app_template_global()
def kind_label(kind: str) -> str:
    """Label of a facility kind value in the current language (the raw value when unknown)."""
    try:
        return label_of(KIND_SPECS[FacilityKind(kind)])
    except ValueError:
        return kind


@bp.app_template_global()
def kind_color(kind: str) -> str:
    """The colour of a kind on the maps (legend, markers), so pages and maps agree."""
    from maps.styles import kind_style

    return kind_style(kind).color


@bp.app_template_global()
def status_text(kind: str, status: str | None) -> str:
    """Label of a stored status in the current language; "unknown" when missing."""
    if not status:
        return _("unknown")
    try:
        choice = next((c for c in KIND_SPECS[FacilityKind(kind)].statuses if c.value == status), None)
    except ValueError:
        choice = None
    return label_of(choice) if choice else status


@bp.app_template_global()
def compliance_text(code: str | None) -> str:
    """Label of a compliance status; anything missing or unexpected is "unknown"."""
    labels = {"compliant": _("compliant"), "non_compliant": _("non-compliant"), "unknown": _("unknown")}
    return labels.get(compliance_code(code), labels["unknown"])


def compliance_code(code: object) -> str:
    """``compliant`` / ``non_compliant``, else ``unknown`` (a gap is never compliant)."""
    return code if isinstance(code, str) and code in ("compliant", "non_compliant") else "unknown"


bp.add_app_template_global(compliance_code, "compliance_code")


@bp.app_template_global()
def value_text(spec: FieldSpec, value: Any) -> str:
    """An attribute value as text for people: enum labels, yes/no, units; "unknown" when missing."""
    if value is None or value == "":
        return _("unknown")
    if spec.type is FieldType.BOOL:
        return _("yes") if value is True or str(value).lower() == "true" else _("no")
    if spec.type is FieldType.ENUM:
        choice = spec.choice(str(value))
        return label_of(choice) if choice else str(value)
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {spec.unit}" if spec.unit else text


@bp.app_template_global()
def verdict_text(verdict: str) -> str:
    """Label of a rule verdict (pass, fail, unknown, not applicable, flag)."""
    labels = {"pass": _("met"), "fail": _("not met"), "unknown": _("unknown"),
              "not_applicable": _("not applicable"), "flag": _("flagged")}
    return labels.get(str(verdict), str(verdict))


def _error_text(exc: ql.QueryError) -> str:
    return exc.en if current_lang() == "en" else exc.zh


# --------------------------------------------------------------------------- home
@bp.get("/")
def home() -> str:
    """Dashboard: totals per kind and district, compliance at a glance, links into everything."""
    session = get_session()
    table = get_count_table(session)
    kinds = [KIND_SPECS[FacilityKind(k)] for k in KIND_ORDER]
    compliance = get_compliance_counts(session)
    return render_template("pages/home.html", table=table, kinds=kinds, compliance=compliance,
                           targets=city_targets(session))


def city_targets(session: Any) -> list[Any]:
    """Findings of the city targets (MUS-1/4/5, SR-15, KG-TARGET, PK-TARGET-…), cached per data version."""
    from flask import current_app

    from registry.mapdata import get_city_progress, get_data_version

    version = (get_data_version(session), localtime.today())
    cached = current_app.extensions.get("registry.city_targets")
    if cached and cached[0] == version:
        return cached[1]
    findings = get_city_progress(session)
    current_app.extensions["registry.city_targets"] = (version, findings)
    return findings


# --------------------------------------------------------------------------- facility list
@dataclass
class ListRequest:
    """A facility list as asked for in the URL (validated into a :class:`registry.query.Query`)."""

    kind: str | None
    text: str = ""
    district: str = ""
    status: str = ""
    compliance: str = ""
    rule: str = ""  # drill-down from the compliance pages: facilities with ``verdict`` on this rule
    verdict: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # a.<field>[.min|.max] -> value
    sort: str = "name"
    page: int = 1
    per_page: int = 50

    @property
    def spec(self) -> KindSpec | None:
        return KIND_SPECS[FacilityKind(self.kind)] if self.kind else None


def parse_list_args(args: MultiDict) -> ListRequest:
    """Read the list arguments; raises :class:`registry.query.QueryError` naming a bad one."""
    kinds = ql.parse_kinds(args.getlist("kind"), "kind")
    if len(kinds) > 1:
        raise ql.QueryError("kind 只能选一种", "kind: choose one kind (or none for all)", "kind")
    req = ListRequest(kind=kinds[0] if kinds else None)
    req.text = (args.get("q") or "").strip()[:200]
    req.district = (args.get("district") or "").strip()
    req.status = (args.get("status") or "").strip()
    req.compliance = (args.get("compliance") or "").strip()
    if req.compliance and req.compliance not in COMPLIANCE_CODES:
        raise ql.QueryError(f"compliance 无效：{req.compliance!r}", f"compliance: unknown value {req.compliance!r}",
                            "compliance")
    req.rule, req.verdict = _parse_rule_args(args)
    req.sort = (args.get("sort") or "name").strip()
    req.page = ql.parse_int(args.get("page") or "1", "page", 1, 1_000_000)
    req.per_page = ql.parse_int(args.get("per_page") or "50", "per_page", 1, max(PAGE_SIZES))
    req.attributes = {k: v.strip() for k, v in args.items() if k.startswith("a.") and v.strip()}
    if req.attributes and not req.kind:
        name = next(iter(req.attributes))
        raise ql.QueryError(f"{name}：属性筛选需要先选择设施类型", f"{name}: attribute filters need a kind", name)
    return req


def _parse_rule_args(args: MultiDict) -> tuple[str, str]:
    """``rule`` (a rule ID such as ``SR-2``) and ``verdict`` (pass/fail/unknown/not_applicable/flag)."""
    from registry.compliance import RULES
    from registry.compliance_db.read import VERDICTS

    rule = (args.get("rule") or "").strip().upper()
    verdict = (args.get("verdict") or "").strip()
    if rule and rule not in RULES:
        raise ql.QueryError(f"rule 无效：{rule!r}（不是已知的规则编号）", f"rule: unknown rule ID {rule!r}", "rule")
    if verdict and verdict not in VERDICTS:
        raise ql.QueryError(f"verdict 无效：{verdict!r}，可选 {', '.join(VERDICTS)}",
                            f"verdict: unknown value {verdict!r}; choose one of {', '.join(VERDICTS)}", "verdict")
    if verdict and not rule:
        raise ql.QueryError("verdict 需要同时给出 rule（规则编号）", "verdict: give the rule it belongs to (rule=)",
                            "verdict")
    return rule, verdict


def rule_verdicts(req: ListRequest) -> tuple[str, ...]:
    """Verdicts of ``req.rule`` the list shows: ``verdict=``, else the one ``compliance=`` stands for, else all."""
    from registry.compliance_db.read import RULE_VERDICT_FOR_STATUS, VERDICTS

    if req.verdict:
        return (req.verdict,)
    if req.compliance:
        return (RULE_VERDICT_FOR_STATUS[req.compliance],)
    return tuple(VERDICTS)


def _attribute_filters(req: ListRequest) -> list[tuple[str, cql2.Expr]]:
    """Attribute conditions from ``a.<field>=value``, ``a.<field>.min`` and ``a.<field>.max``."""
    out: list[tuple[str, cql2.Expr]] = []
    kinds = (req.kind,) if req.kind else ()
    for param, value in req.attributes.items():
        name, _dot, bound = param[2:].partition(".")
        if bound not in ("", "min", "max"):
            raise ql.QueryError(f"未知参数 {param!r}", f"unknown parameter {param!r}", param)
        if value == "unknown" and not bound:
            expr: cql2.Expr = cql2.IsNull(name)
        else:
            op = {"": "=", "min": ">=", "max": "<="}[bound]
            expr = cql2.Compare(op, name, value)
        out.append((param, ql.check_filter(expr, kinds, param)))
    return out


def _text_filter(text: str) -> cql2.Expr:
    """Name, address or external id containing ``text`` (case-insensitive; Chinese as entered)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return cql2.Or(tuple(cql2.Like(prop, pattern, casei=True) for prop in ("name", "address", "external_id")))


def build_list_query(req: ListRequest, *, limit: int | None = None, offset: int | None = None,
                     session: Any = None) -> ql.Query:
    """The query-layer :class:`~registry.query.Query` of a list request.

    With ``req.rule`` the stored findings of that rule choose the facilities
    (``session`` is needed to read them) and ``compliance`` means the verdict
    on that rule, not the overall status.
    """
    data: dict[str, list[str]] = {}
    if req.kind:
        data["kind"] = [req.kind]
    if req.district:
        data["district"] = [req.district]
    if req.status:
        data["status"] = [req.status]
    q = ql.parse_params(data)
    filters = list(q.filters) + _attribute_filters(req)
    if req.text:
        filters.append(("q", _text_filter(req.text)))
    ids: tuple[int, ...] = ()
    if req.rule:
        from registry.mapdata import get_rule_facility_ids

        ids = tuple(get_rule_facility_ids(session or get_session(), req.rule, rule_verdicts(req)))
        if not ids:
            filters.append(("rule", cql2.Const(False)))
    elif req.compliance:
        if not ql.HAS_COMPLIANCE:
            if req.compliance != "unknown":
                filters.append(("compliance", cql2.Const(False)))
        elif req.compliance == "unknown":
            filters.append(("compliance", cql2.Or((cql2.IsNull("compliance_status"),
                                                   cql2.Compare("=", "compliance_status", "unknown")))))
        else:
            filters.append(("compliance", cql2.Compare("=", "compliance_status", req.compliance)))
    q = replace(q, filters=tuple(filters), sort=_sort(req, q), ids=ids)
    return replace(q, limit=limit or req.per_page,
                   offset=(req.page - 1) * req.per_page if offset is None else offset)


def _sort(req: ListRequest, q: ql.Query) -> tuple[tuple[str, bool], ...]:
    name = req.sort.lstrip("-")
    allowed = set(SORTABLE) | set(KEY_FIELDS.get(req.kind or "", ()))
    if ql.HAS_COMPLIANCE:
        allowed.add("compliance_status")
    if name not in allowed:
        raise ql.QueryError(f"sort 无效：{req.sort!r}", f"sort: cannot sort by {req.sort!r}", "sort")
    return ql.parse_sort(req.sort, q)


def _filter_fields(spec: KindSpec | None) -> list[FieldSpec]:
    """Attributes offered as list filters: enumerations, yes/no and numbers."""
    if spec is None:
        return []
    wanted = (FieldType.ENUM, FieldType.BOOL, FieldType.INT, FieldType.FLOAT, FieldType.DATE)
    return [f for f in spec.fields if f.type in wanted]


@bp.get("/kinds/<kind>")
@bp.get("/facilities/<kind>")
def kind_list(kind: str) -> Response:
    """``/kinds/<kind>`` and ``/facilities/<kind>`` are the list of one kind (numbers are facility pages)."""
    try:
        value = ql.parse_kinds(kind, "kind")[0]
    except (ql.QueryError, IndexError):
        abort(404)
    return redirect(url_for("pages.facility_list", kind=value), code=302)


@bp.get("/facilities")
def facility_list() -> tuple[str, int] | str:
    """Facilities of one kind (or all): search, filters, sorting, paging."""
    session = get_session()
    districts = ql.get_district_names(session)
    try:
        req = parse_list_args(request.args)
        result = ql.run(session, build_list_query(req, session=session))
    except ql.QueryError as exc:
        req = ListRequest(kind=None)
        try:
            req.kind = ql.parse_kinds(request.args.getlist("kind"), "kind")[0]
        except (ql.QueryError, IndexError):
            pass
        return render_template("facilities/list.html", req=req, result=None, error=_error_text(exc),
                               error_parameter=exc.parameter, districts=districts, **_list_context(req)), 400
    return render_template("facilities/list.html", req=req, result=result, error=None, error_parameter=None,
                           districts=districts, **_list_context(req))


def _list_context(req: ListRequest) -> dict[str, Any]:
    spec = req.spec
    statuses: list[Any] = list(spec.statuses) if spec else []
    if not spec:
        seen: dict[str, Any] = {}
        for s in KIND_SPECS.values():
            for c in s.statuses:
                seen.setdefault(c.value, c)
        statuses = list(seen.values())
    key_fields = [spec.field(n) for n in KEY_FIELDS[spec.kind.value]] if spec else []
    from registry.compliance import RULES

    return {
        "rule": RULES.get(req.rule) if req.rule else None,
        "rule_verdicts": rule_verdicts(req) if req.rule else (),
        "kinds": [KIND_SPECS[FacilityKind(k)] for k in KIND_ORDER],
        "spec": spec,
        "statuses": statuses,
        "key_fields": key_fields,
        "filter_fields": _filter_fields(spec),
        "page_sizes": PAGE_SIZES,
        "compliance_codes": COMPLIANCE_CODES,
        "has_compliance": ql.HAS_COMPLIANCE,
    }


@bp.get("/facilities.csv")
def facility_export() -> Response:
    """CSV of every facility the list shows (same filters and order, all pages)."""
    session = get_session()
    try:
        req = parse_list_args(request.args)
        rows = list(_all_rows(session, req))
    except ql.QueryError as exc:
        abort(400, description=_error_text(exc))
    kinds = (req.kind,) if req.kind else tuple(KIND_ORDER)
    body = ql.to_csv([csv_safe_row(r) for r in rows], kinds)
    name = f"facilities-{req.kind or 'all'}-{localtime.today():%Y%m%d}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _all_rows(session: Any, req: ListRequest) -> Iterator[dict[str, Any]]:
    offset = 0
    while offset < EXPORT_LIMIT:
        result = ql.run(session, build_list_query(req, limit=ql.MAX_LIMIT, offset=offset, session=session))
        yield from result.rows
        if result.next_offset is None:
            return
        offset = result.next_offset


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user text (``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A query row with every text value made safe for spreadsheets."""
    out = {k: csv_safe(v) for k, v in row.items() if k != "attributes"}
    out["attributes"] = {k: csv_safe(v) for k, v in (row.get("attributes") or {}).items()}
    return out


# --------------------------------------------------------------------------- facility detail
@bp.get("/facilities/<int:facility_id>")
def facility_detail(facility_id: int) -> str:
    """One facility: mini-map, every attribute, compliance findings with citations, history, edit form."""
    session = get_session()
    row = ql.get_facility(session, facility_id)
    if row is None:
        abort(404, description=_("There is no facility with id %(id)s (it may have been deleted).", id=facility_id))
    spec = KIND_SPECS[FacilityKind(row["kind"])]
    compliance = facility_compliance(session, facility_id, row)
    return render_template(
        "facilities/detail.html",
        row=row,
        spec=spec,
        common_fields=[f for f in COMMON_FIELDS if f.name not in ("lon", "lat", "name")],
        findings=compliance["findings"],
        counts=compliance["counts"],
        compliance=compliance,
        history=_recent_history(session, facility_id),
        edit_fields=_edit_fields(session, facility_id),
        map_url=url_for("mapviews.facility_frame", facility_id=facility_id),
        map_export_url=url_for("mapviews.facility_export", facility_id=facility_id),
    )


def facility_row_for_rules(row: Mapping[str, Any]) -> dict[str, Any]:
    """The plain mapping the compliance rules read: common fields plus the kind's attributes."""
    out = {k: v for k, v in row.items() if k != "attributes"}
    out.update(row.get("attributes") or {})
    return out


def facility_findings(row: Mapping[str, Any], as_of: dt.date | None = None) -> list[Any]:
    """Findings of every rule of the facility's kind (spatial parts unknown without neighbour data)."""
    from registry.compliance import evaluate_facility

    return evaluate_facility(facility_row_for_rules(row), as_of)


def facility_compliance(session: Any, facility_id: int, row: Mapping[str, Any]) -> dict[str, Any]:
    """Status and findings (dicts with ``rule_id``, ``verdict``, messages, ``citation``) of one facility.

    The findings stored by the last compliance run; a facility never checked is
    evaluated now, with its neighbours from PostGIS
    (:func:`registry.compliance_db.read.get_facility_compliance`).  Without the
    compliance tables the rules are evaluated on the record alone (spatial
    parts unknown).
    """
    try:
        from registry.compliance_db.read import get_facility_compliance
    except ImportError:  # pragma: no cover - compliance store not installed
        get_facility_compliance = None
    result = get_facility_compliance(session, facility_id) if get_facility_compliance else None
    if result is not None:
        return result
    findings = [f.to_dict() for f in facility_findings(row)]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["verdict"]] = counts.get(f["verdict"], 0) + 1
    return {"status": row.get("compliance_status") or "unknown", "stored": False, "as_of": None,
            "checked_at": None, "counts": counts, "findings": findings}


def _recent_history(session: Any, facility_id: int, n: int = 5) -> list[Any] | None:
    """The last ``n`` audited changes, or ``None`` when the user may not read the audit trail."""
    from registry.auth.identity import current_user
    from registry.auth.permissions import anonymous_read_enabled, user_allows

    if not user_allows(current_user(), "audit.read", anonymous_read_enabled()):
        return None
    from registry.audit import facility_history

    return list(reversed(facility_history(session, facility_id)))[:n]


def _edit_fields(session: Any, facility_id: int) -> list[dict[str, Any]] | None:
    """Input fields of the edit form (current values), or ``None`` when the user may not edit."""
    from registry.auth.identity import current_user
    from registry.auth.permissions import (
        anonymous_read_enabled,
        can_edit_district,
        user_allows,
    )
    from registry.editing import get_facility

    user = current_user()
    if not user_allows(user, "facility.write", anonymous_read_enabled()):
        return None
    fac = get_facility(session, facility_id)
    if fac is None or not can_edit_district(user, fac.district_code):
        return None
    from registry.web.facility_edit import _form_fields

    return _form_fields(fac.kind, fac)


# --------------------------------------------------------------------------- radius query
RADIUS_CHOICES = (100, 300, 500, 800, 1000, 1500, 3000)


@bp.get("/radius")
def radius() -> tuple[str, int] | str:
    """Radius query: a point (typed, or clicked on the map) in WGS-84/GCJ-02/BD-09, a radius and kinds."""
    error, error_parameter, result, req = None, None, None, None
    choice = mapviews.parse_choice(request.args, kinds=False)
    try:
        req = mapviews.parse_radius(request.args)
        if req is not None:
            result = mapviews.run_radius(req)
    except ql.QueryError as exc:
        error, error_parameter = _error_text(exc), exc.parameter
    frame_args: dict[str, str] = dict(choice.args())
    if req is not None and error is None:
        frame_args.update(req.args())
    return render_template(
        "pages/radius.html",
        req=req,
        result=result,
        error=error,
        error_parameter=error_parameter,
        choice=choice,
        basemaps=mapviews.available_basemaps(),
        kinds=[KIND_SPECS[FacilityKind(k)] for k in KIND_ORDER],
        radius_choices=RADIUS_CHOICES,
        frame_url=url_for("mapviews.radius_frame", **frame_args),
        map_export_url=url_for("mapviews.radius_export", **frame_args),
        limit=mapviews.RADIUS_LIMIT,
    ), (400 if error else 200)


@bp.get("/radius.csv")
def radius_export() -> Response:
    """CSV of a radius query's results, nearest first, with distances in metres."""
    try:
        req = mapviews.parse_radius(request.args)
        if req is None:
            raise ql.QueryError("lon 缺失：请给出查询中心", "lon is missing: give the centre of the search", "lon")
        result = mapviews.run_radius(req)
    except ql.QueryError as exc:
        abort(400, description=_error_text(exc))
    body = ql.to_csv([csv_safe_row(r) for r in result.rows], req.kinds)
    name = f"radius-{req.radius_m:g}m-{req.lon:.5f}-{req.lat:.5f}.csv"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
