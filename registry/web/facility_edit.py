"""Facility writes (create, edit, soft delete, restore, revert) and history — pages and API.

API (JSON; 400 naming the field for bad input, 401/403 from the permission table)::

    POST   /api/facilities                             {"kind": ..., "comment": ..., <fields>}  -> 201 Feature
    PATCH  /api/facilities/<id>                        {"comment": ..., <fields>}               -> 200 Feature
    DELETE /api/facilities/<id>                        {"comment": ...} (optional)              -> 200
    POST   /api/facilities/<id>/restore                {"comment": ...} (optional)              -> 200
    POST   /api/facilities/<id>/history/<event>/revert {"comment": ...} (optional)              -> 200 Feature
    GET    /api/facilities/<id>/history                                                         -> events

Pages: ``/facilities/new?kind=…``, ``/facilities/<id>/edit``, ``/facilities/<id>/delete``,
``/facilities/<id>/restore``, ``/facilities/<id>/history``.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from registry import audit, editing
from registry.auth.identity import current_user, request_actor
from registry.auth.permissions import require
from registry.db import get_session
from registry.editing import EditError
from registry.facilities import get_district_names, to_feature
from registry.kinds import COMMON_FIELDS, KIND_SPECS, FacilityKind, FieldType, spec_for
from registry.kinds.values import format_canonical
from registry.models import AuditEvent, Facility
from registry.web.errors import ApiError

bp = Blueprint("facility_edit", __name__)

RESERVED = ("kind", "comment")


# --------------------------------------------------------------------------- helpers
def _facility(facility_id: int, include_deleted: bool = False, api: bool = True) -> Facility:
    fac = editing.get_facility(get_session(), facility_id, include_deleted=include_deleted)
    if fac is None:
        if api:
            raise ApiError(f"no facility {facility_id}", "id", 404)
        abort(404)
    return fac


def _json_body(required: bool = True) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not required and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object", "body")
    return body


def _comment(body: dict[str, Any]) -> str | None:
    comment = body.get("comment", request.args.get("comment"))
    if comment is not None and not isinstance(comment, str):
        raise ApiError("comment must be text", "comment")
    if comment is not None and len(comment) > 2000:
        raise ApiError("comment is longer than 2000 characters", "comment")
    return comment


def _api_error(exc: EditError) -> ApiError:
    get_session().rollback()
    return ApiError(exc.message, exc.field, exc.status)


def _feature(fac: Facility) -> dict[str, Any]:
    snap = audit.snapshot(fac)
    feature = to_feature(fac, snap["lon"], snap["lat"], get_district_names(get_session()))
    feature["properties"]["deleted_at"] = snap["deleted_at"]
    return feature


def _guard() -> editing.DistrictGuard | None:
    return editing.district_guard_for(current_user())


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """JSON form of an audit event."""
    return {
        "id": event.id,
        "at": event.created_at.isoformat() if event.created_at else None,
        "actor": event.actor,
        "via": event.via,
        "action": event.action,
        "facility_id": event.facility_id,
        "batch_id": event.batch_id,
        "changes": {k: {"before": v[0], "after": v[1]} for k, v in event.changes.items()},
        "comment": event.comment,
    }


# --------------------------------------------------------------------------- API
@bp.post("/api/facilities")
@require("facility.write")
def api_create() -> tuple[Response, int, dict[str, str]]:
    """Create a facility."""
    body = _json_body()
    kind = body.get("kind")
    if kind is None:
        raise ApiError("kind is required", "kind")
    comment = _comment(body)
    data = {k: v for k, v in body.items() if k not in RESERVED}
    session = get_session()
    try:
        fac = editing.create_facility(session, request_actor(), kind, data, comment, _guard())
    except EditError as exc:
        raise _api_error(exc) from None
    session.commit()
    return jsonify(_feature(fac)), 201, {"Location": f"/api/facilities/{fac.id}"}


@bp.patch("/api/facilities/<int:facility_id>")
@require("facility.write")
def api_update(facility_id: int) -> Response:
    """Change some fields of a facility."""
    body = _json_body()
    if "kind" in body:
        raise ApiError("the kind of a facility cannot be changed; delete it and create a new one", "kind")
    comment = _comment(body)
    session = get_session()
    fac = _facility(facility_id)
    data = {k: v for k, v in body.items() if k not in RESERVED}
    try:
        editing.update_facility(session, request_actor(), fac, data, comment, _guard())
    except EditError as exc:
        raise _api_error(exc) from None
    session.commit()
    return jsonify(_feature(fac))


@bp.delete("/api/facilities/<int:facility_id>")
@require("facility.write")
def api_delete(facility_id: int) -> Response:
    """Soft-delete a facility."""
    comment = _comment(_json_body(required=False))
    session = get_session()
    fac = _facility(facility_id)
    try:
        event = editing.delete_facility(session, request_actor(), fac, comment, _guard())
    except EditError as exc:
        raise _api_error(exc) from None
    session.commit()
    return jsonify({"id": fac.id, "deleted_at": fac.deleted_at.isoformat() if fac.deleted_at else None,
                    "event": event.id})


@bp.post("/api/facilities/<int:facility_id>/restore")
@require("facility.write")
def api_restore(facility_id: int) -> Response:
    """Undo a soft delete."""
    comment = _comment(_json_body(required=False))
    session = get_session()
    fac = _facility(facility_id, include_deleted=True)
    try:
        editing.restore_facility(session, request_actor(), fac, comment, _guard())
    except EditError as exc:
        raise _api_error(exc) from None
    session.commit()
    return jsonify(_feature(fac))


@bp.post("/api/facilities/<int:facility_id>/history/<int:event_id>/revert")
@require("facility.write")
def api_revert(facility_id: int, event_id: int) -> Response:
    """Put back the values one update changed."""
    comment = _comment(_json_body(required=False))
    session = get_session()
    fac = _facility(facility_id)
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise ApiError(f"no audit event {event_id}", "event_id", 404)
    try:
        editing.revert_event(session, request_actor(), fac, event, comment, _guard())
    except EditError as exc:
        raise _api_error(exc) from None
    session.commit()
    return jsonify(_feature(fac))


@bp.get("/api/facilities/<int:facility_id>/history")
@require("audit.read")
def api_history(facility_id: int) -> Response:
    """Every audited change of a facility, oldest first (also for deleted ones)."""
    fac = _facility(facility_id, include_deleted=True)
    events = audit.facility_history(get_session(), fac.id)
    return jsonify({"facility_id": fac.id, "deleted": fac.deleted_at is not None,
                    "events": [event_dict(e) for e in events]})


# --------------------------------------------------------------------------- pages
def _form_fields(kind: str, fac: Facility | None) -> list[dict[str, Any]]:
    """What the edit form shows: one entry per input field with its current canonical text."""
    spec = spec_for(kind)
    snap = audit.snapshot(fac) if fac is not None else {}
    out = []
    for field in (*COMMON_FIELDS, *spec.fields):
        key = "declared_district" if field.name == "district" else field.name
        value = snap.get(key)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = ""
        elif field.type in (FieldType.DATE, FieldType.TIME, FieldType.POINTS):
            text = str(value)
        else:
            text = format_canonical(field, value) if not isinstance(value, str) else value
        choices = spec.statuses if field.name == "status" else field.choices
        out.append({"spec": field, "value": text, "choices": choices})
    return out


def _form_data(kind: str) -> dict[str, Any]:
    names = [f.name for f in (*COMMON_FIELDS, *spec_for(kind).fields)]
    return {name: request.form.get(name, "") for name in names if name in request.form}


@bp.route("/facilities/new", methods=["GET", "POST"])
@require("facility.write")
def new() -> str | BaseResponse | tuple[str, int]:
    """Form to create a facility of ``?kind=``."""
    kind = request.values.get("kind", "")
    if kind not in FacilityKind._value2member_map_:
        return render_template("facilities/choose_kind.html", kinds=list(KIND_SPECS.values()))
    error = None
    if request.method == "POST":
        session = get_session()
        try:
            fac = editing.create_facility(session, request_actor(), kind, _form_data(kind),
                                          request.form.get("comment"), _guard())
            session.commit()
            flash(_("Facility created."))
            return redirect(url_for("facility_edit.history", facility_id=fac.id))
        except EditError as exc:
            session.rollback()
            error = exc
    fields = _form_fields(kind, None)
    if request.method == "POST":
        for f in fields:
            f["value"] = request.form.get(f["spec"].name, f["value"])
    return render_template("facilities/edit.html", kind_spec=KIND_SPECS[FacilityKind(kind)], facility=None,
                           fields=fields, error=error), error.status if error else 200


@bp.route("/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
@require("facility.write")
def edit(facility_id: int) -> str | BaseResponse | tuple[str, int]:
    """Form to change a facility."""
    fac = _facility(facility_id, api=False)
    error = None
    if request.method == "POST":
        session = get_session()
        try:
            editing.update_facility(session, request_actor(), fac, _form_data(fac.kind),
                                    request.form.get("comment"), _guard())
            session.commit()
            flash(_("Changes saved."))
            return redirect(url_for("facility_edit.history", facility_id=fac.id))
        except EditError as exc:
            session.rollback()
            error = exc
            fac = _facility(facility_id, api=False)
    fields = _form_fields(fac.kind, fac)
    if request.method == "POST":
        for f in fields:
            f["value"] = request.form.get(f["spec"].name, f["value"])
    return render_template("facilities/edit.html", kind_spec=KIND_SPECS[FacilityKind(fac.kind)], facility=fac,
                           fields=fields, error=error), error.status if error else 200


def _page_action(facility_id: int, include_deleted: bool, action: Any, done: str) -> BaseResponse:
    session = get_session()
    fac = _facility(facility_id, include_deleted=include_deleted, api=False)
    try:
        action(session, fac)
        session.commit()
        flash(done)
    except EditError as exc:
        session.rollback()
        if exc.status == 403:
            abort(403, exc.message)
        flash(exc.message, "error")
    return redirect(url_for("facility_edit.history", facility_id=facility_id))


@bp.post("/facilities/<int:facility_id>/delete")
@require("facility.write")
def delete(facility_id: int) -> BaseResponse:
    """Soft-delete a facility (form with an optional comment)."""
    return _page_action(facility_id, False, lambda s, f: editing.delete_facility(
        s, request_actor(), f, request.form.get("comment"), _guard()), _("Facility deleted; it can be restored."))


@bp.post("/facilities/<int:facility_id>/restore")
@require("facility.write")
def restore(facility_id: int) -> BaseResponse:
    """Restore a soft-deleted facility."""
    return _page_action(facility_id, True, lambda s, f: editing.restore_facility(
        s, request_actor(), f, request.form.get("comment"), _guard()), _("Facility restored."))


@bp.post("/facilities/<int:facility_id>/history/<int:event_id>/revert")
@require("facility.write")
def revert(facility_id: int, event_id: int) -> BaseResponse:
    """Put back the values of one change."""
    def action(session: Any, fac: Facility) -> None:
        event = session.get(AuditEvent, event_id)
        if event is None:
            abort(404)
        editing.revert_event(session, request_actor(), fac, event, request.form.get("comment"), _guard())

    return _page_action(facility_id, False, action, _("Change reverted."))


def _labels(kind: str | None) -> dict[str, tuple[str, str]]:
    labels = {f.name: (f.zh, f.en) for f in COMMON_FIELDS}
    labels.update({"declared_district": labels["district"], "district_code": ("区县代码", "District code"),
                   "deleted_at": ("删除时间", "Deleted at"), "kind": ("类型", "Kind"), "source": ("来源", "Source"),
                   "is_synthetic": ("合成数据", "Synthetic"), "batch_id": ("导入批次", "Import batch")})
    if kind in FacilityKind._value2member_map_:
        labels.update({f.name: (f.zh, f.en) for f in spec_for(kind).fields})
    return labels


@bp.get("/facilities/<int:facility_id>/history")
@require("audit.read")
def history(facility_id: int) -> str:
    """Who changed what, when and why; restore and revert buttons for those who may write."""
    fac = _facility(facility_id, include_deleted=True, api=False)
    events = audit.facility_history(get_session(), fac.id)
    return render_template("facilities/history.html", facility=fac, events=list(reversed(events)),
                           labels=_labels(fac.kind), kind_spec=KIND_SPECS.get(FacilityKind(fac.kind)))
