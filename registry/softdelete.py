"""Soft deletion of facilities: deleted rows stay (with ``deleted_at``) but no ORM read sees them.

Every ``SELECT`` executed through an ORM :class:`~sqlalchemy.orm.Session` that
involves :class:`~registry.models.Facility` (or a kind subclass, directly, in
a join or in a subquery) gets ``facility.deleted_at IS NULL`` added by
``with_loader_criteria``.  Code that must see deleted facilities (restore,
history, import rollback, backups) asks for them explicitly::

    session.get(Facility, fid, execution_options={"include_deleted": True})
    session.scalars(select(Facility).execution_options(include_deleted=True))

Statements executed on a plain ``Connection`` and ``text()`` SQL are NOT
filtered: add :func:`active` (or :data:`ACTIVE_SQL`) to them yourself.  An
object already in a session's identity map stays there after it is deleted in
that same session (``session.get`` returns it without a query); a new session
(the next request) no longer sees it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

INCLUDE_DELETED = "include_deleted"
"""Execution option that turns the filter off for one statement."""

ACTIVE_SQL = "deleted_at IS NULL"
"""The criterion for hand-written SQL on the ``facility`` table."""


def active() -> ColumnElement[bool]:
    """Criterion of a facility that is not soft-deleted (for Core statements)."""
    from registry.models import Facility

    return Facility.deleted_at.is_(None)


@event.listens_for(Session, "do_orm_execute")
def _hide_deleted(state: ORMExecuteState) -> None:
    if not state.is_select or state.execution_options.get(INCLUDE_DELETED, False):
        return
    from registry.models import Facility

    state.statement = state.statement.options(
        with_loader_criteria(Facility, lambda cls: cls.deleted_at.is_(None), include_aliases=True)
    )
