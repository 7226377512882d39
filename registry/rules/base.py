"""Core types of the compliance rule engine and the helpers rule checks share.

Everything here is plain Python: rules read facilities as mappings (``None``
means *unknown*), never ORM objects, Flask or the database.  The public names
are re-exported by :mod:`registry.compliance`; rule modules import them from
here so that imports flow one way (``compliance -> rules -> rules.base``).

Verdicts
--------
``PASS`` / ``FAIL`` / ``UNKNOWN`` / ``NOT_APPLICABLE`` are the answers of an
obligation.  ``FLAG`` is only used by advisory rules (EL-10 "priority
inspection"): it marks a facility for attention without saying it breaks a
rule.  Findings of advisory rules never change a facility's status.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Severity = Literal["high", "medium", "low", "info"]
"""How serious a failure is; ``info`` is reserved for advisory rules."""

Scope = Literal["facility", "district", "city", "spatial"]
"""What a rule is evaluated over."""


class Verdict(str, enum.Enum):
    """Outcome of one rule for one subject."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    FLAG = "flag"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass(frozen=True, slots=True)
class Fine:
    """A fine range the regulation itself states for breaking a rule.

    Parameters
    ----------
    min_yuan, max_yuan : int
        Inclusive range in yuan.
    citation : str
        Article that sets the fine.
    condition_zh, condition_en : str
        What the fine is for (the article's wording, shortened).
    """

    min_yuan: int
    max_yuan: int
    citation: str
    condition_zh: str
    condition_en: str

    def __str__(self) -> str:
        return f"¥{self.min_yuan:,}–{self.max_yuan:,} ({self.citation})"


@dataclass(frozen=True, slots=True)
class Related:
    """Another object a spatial finding refers to (a kindergarten, a bus stop...)."""

    id: Any
    name: str | None
    category: str
    distance_m: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"id": self.id, "name": self.name, "category": self.category, "distance_m": self.distance_m}


@dataclass(frozen=True, slots=True)
class Progress:
    """Progress towards a numeric target.

    ``value`` counts what is confirmed; ``upper`` is what it could reach if
    every unknown input turned out favourable (``None``: unbounded).  With
    complete data ``upper == value``.
    """

    label_zh: str
    label_en: str
    value: float
    target: float
    upper: float | None
    deadline: dt.date | None = None

    @property
    def ratio(self) -> float:
        """``value / target`` (1.0 means the target is met)."""
        return self.value / self.target if self.target else 1.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "value": self.value,
            "target": self.target,
            "upper": self.upper,
            "ratio": round(self.ratio, 4),
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


class Outcome(NamedTuple):
    """What a check returns; the engine adds the rule's metadata to make a :class:`Finding`."""

    verdict: Verdict
    zh: str
    en: str
    related: tuple[Related, ...] = ()
    progress: Progress | None = None


@dataclass(slots=True)
class Finding:
    """The verdict of one rule on one subject (a facility, a district or the city).

    ``message_zh`` / ``message_en`` start with the rule ID and name the actual
    value and the threshold (``SR-2 阅览座席 12 < 15 个``).
    """

    rule_id: str
    verdict: Verdict
    message_zh: str
    message_en: str
    citation: str
    severity: Severity
    scope: Scope
    kind: str
    subject_type: str
    subject_id: Any
    related: tuple[Related, ...] = ()
    progress: Progress | None = None
    advisory: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (verdict as its string value)."""
        return {
            "rule_id": self.rule_id,
            "verdict": self.verdict.value,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "citation": self.citation,
            "severity": self.severity,
            "scope": self.scope,
            "kind": self.kind,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "related": [r.to_dict() for r in self.related],
            "progress": self.progress.to_dict() if self.progress else None,
            "advisory": self.advisory,
        }


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A feature near the subject, with a distance the caller computed (PostGIS, metres).

    ``category`` is one of :data:`NEIGHBOUR_LABELS` (``kindergarten``,
    ``bus_stop``, ``entertainment``...).  Distances to institutions should be
    measured to their entrance where one is recorded.
    """

    category: str
    distance_m: float
    id: Any = None
    name: str | None = None


class NeighbourPair(NamedTuple):
    """One precomputed (subject, neighbour, distance) row, as a PostGIS join returns it."""

    facility_id: Any
    category: str
    distance_m: float
    neighbour_id: Any = None
    neighbour_name: str | None = None


@dataclass(frozen=True, slots=True)
class SpatialContext:
    """Neighbours of one facility and which categories were searched, to what radius.

    Absence of a neighbour only counts as "none nearby" when its category was
    searched to at least the rule's distance; otherwise the spatial part of the
    rule is unknown.

    Parameters
    ----------
    neighbours : tuple of Neighbour
        Features found near the facility.
    searched : mapping of str to float
        ``category -> radius in metres`` that the caller searched.
    """

    neighbours: tuple[Neighbour, ...] = ()
    searched: Mapping[str, float] = field(default_factory=dict)

    def covers(self, category: str, radius_m: float) -> bool:
        """Return whether ``category`` was searched to at least ``radius_m``."""
        return self.searched.get(category, -1.0) >= radius_m

    def within(self, category: str, radius_m: float) -> list[Neighbour]:
        """Return the neighbours of ``category`` closer than or at ``radius_m``, nearest first."""
        hits = [n for n in self.neighbours if n.category == category and n.distance_m <= radius_m]
        return sorted(hits, key=lambda n: n.distance_m)


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What a facility check may read besides the facility: the date and its neighbours."""

    as_of: dt.date
    spatial: SpatialContext | None = None


Check = Callable[..., Any]
"""Facility/spatial rules: ``(facility, EvalContext) -> Outcome``; district rules:
``(UnitData, as_of) -> Outcome``; city rules: ``(CityData, as_of) -> list[Outcome]``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of DOMAIN.md, with its citation and the function that checks it.

    Parameters
    ----------
    id : str
        Rule ID verbatim from DOMAIN.md (``SR-2``).
    kind : str
        Facility kind the rule is about.
    scope : {"facility", "district", "city", "spatial"}
        What the rule is evaluated over.
    requirement_zh, requirement_en : str
        The requirement, Chinese wording of the document first.
    citation : str
        Document number and article (``郑政文〔2019〕92号 四(二)``).
    severity : {"high", "medium", "low", "info"}
        Severity of a failure.
    check : callable
        See :data:`Check`.
    fines : tuple of Fine
        Fines the regulation states (empty when it states none).
    reads : tuple of str
        Facility fields (or aggregated data) the check needs.
    method : str
        How it is checked and when it is unknown (English; for the catalogue).
    advisory : bool
        Advisory rules (EL-10, EL-11, SR-16) never change a facility's status.
    per_facility : bool
        Evaluated by :func:`registry.compliance.evaluate_facility`.
    """

    id: str
    kind: str
    scope: Scope
    requirement_zh: str
    requirement_en: str
    citation: str
    severity: Severity
    check: Check
    fines: tuple[Fine, ...] = ()
    reads: tuple[str, ...] = ()
    method: str = ""
    advisory: bool = False
    per_facility: bool = True


# --------------------------------------------------------------------------- outcomes
def passed(zh: str, en: str, related: tuple[Related, ...] = (), progress: Progress | None = None) -> Outcome:
    """Return a PASS outcome."""
    return Outcome(Verdict.PASS, zh, en, related, progress)


def failed(zh: str, en: str, related: tuple[Related, ...] = (), progress: Progress | None = None) -> Outcome:
    """Return a FAIL outcome."""
    return Outcome(Verdict.FAIL, zh, en, related, progress)


def unknown(zh: str, en: str, related: tuple[Related, ...] = (), progress: Progress | None = None) -> Outcome:
    """Return an UNKNOWN outcome (missing data; never a pass)."""
    return Outcome(Verdict.UNKNOWN, zh, en, related, progress)


def not_applicable(zh: str, en: str) -> Outcome:
    """Return a NOT_APPLICABLE outcome."""
    return Outcome(Verdict.NOT_APPLICABLE, zh, en)


# --------------------------------------------------------------------------- reading values
def get(f: Mapping[str, Any], name: str) -> Any:
    """Return ``f[name]``, with a missing key or a blank string read as ``None`` (unknown)."""
    value = f.get(name)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def as_date(value: Any) -> dt.date | None:
    """Return ``value`` as a date (accepts ``date``, ``datetime`` and ISO strings); ``None`` if blank.

    Raises
    ------
    ValueError
        If a string is not an ISO date.
    """
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    text = str(value).strip()
    return dt.date.fromisoformat(text[:10]) if text else None


def as_time(value: Any) -> dt.time | None:
    """Return ``value`` as a time (accepts ``time`` and ``HH:MM[:SS]`` strings); ``None`` if blank."""
    if value is None or isinstance(value, dt.time):
        return value
    text = str(value).strip().replace("：", ":").replace("∶", ":")
    return dt.time.fromisoformat(text.zfill(5)) if text else None


def add_years(day: dt.date, years: int) -> dt.date:
    """Return ``day`` moved by whole calendar years (29 February becomes 28 February).

    >>> add_years(dt.date(2020, 2, 29), 1)
    datetime.date(2021, 2, 28)
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def num(value: float) -> str:
    """Format a number for messages: thousands separators, no useless decimals.

    >>> num(12), num(80.0), num(12.5), num(300000)
    ('12', '80', '12.5', '300,000')
    """
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def status_outside(
    f: Mapping[str, Any], applicable: Iterable[str], labels: Mapping[str, str]
) -> Outcome | None:
    """Return NOT_APPLICABLE when the facility's known status is outside ``applicable``.

    A missing status returns ``None`` (the rule is evaluated; it is not skipped
    on missing data).  ``labels`` maps status values to ``"中文/English"``.
    """
    status = get(f, "status")
    if status is None or status in applicable:
        return None
    label = labels.get(status, status)
    zh, _, en = label.partition("/")
    return not_applicable(f"状态为「{zh}」，本条不适用", f"status is '{en or zh}': rule does not apply")


# --------------------------------------------------------------------------- shared check shapes
Item = tuple[str, str, str, bool]
"""A checklist item: ``(field, label_zh, label_en, required value)``."""


def checklist(f: Mapping[str, Any], items: Sequence[Item], ok_zh: str = "", ok_en: str = "") -> Outcome:
    """Three-valued AND of boolean fields: any wrong value fails; else any unknown is unknown.

    Parameters
    ----------
    f : mapping
        The facility.
    items : sequence of Item
        Fields with their labels and required value.
    ok_zh, ok_en : str
        Message on PASS (default: the list of labels).

    Returns
    -------
    Outcome
    """
    bad_zh, bad_en, unknown_zh, unknown_en = [], [], [], []
    for name, zh, en, want in items:
        value = get(f, name)
        if value is None:
            unknown_zh.append(zh)
            unknown_en.append(en)
        elif bool(value) is not want:
            bad_zh.append(f"{zh}：{'是' if value else '否'}（要求：{'是' if want else '否'}）")
            bad_en.append(f"{en}: {'yes' if value else 'no'} (required: {'yes' if want else 'no'})")
    if bad_zh:
        more_zh = f"；另有未记录：{'、'.join(unknown_zh)}" if unknown_zh else ""
        more_en = f"; also not recorded: {', '.join(unknown_en)}" if unknown_en else ""
        return failed("；".join(bad_zh) + more_zh, "; ".join(bad_en) + more_en)
    if unknown_zh:
        return unknown(
            f"未记录：{'、'.join(unknown_zh)}，无法判定",
            f"not recorded: {', '.join(unknown_en)}; cannot decide",
        )
    if len(items) == 1:
        _, zh, en, want = items[0]
        ok_zh = ok_zh or f"{zh}：{'是' if want else '否'}"
        ok_en = ok_en or f"{en}: {'yes' if want else 'no'}"
    return passed(
        ok_zh or f"{'、'.join(i[1] for i in items)}：均符合",
        ok_en or f"{', '.join(i[2] for i in items)}: all met",
    )


def at_least(
    f: Mapping[str, Any], name: str, minimum: float, label: tuple[str, str], unit: tuple[str, str] = ("", "")
) -> Outcome:
    """Check ``f[name] >= minimum``; unknown when the value is missing.

    >>> at_least({"seats": 12}, "seats", 15, ("阅览座席", "seats"), (" 个", "")).zh
    '阅览座席 12 < 15 个'
    """
    value = get(f, name)
    (zh, en), (unit_zh, unit_en) = label, unit
    if value is None:
        return unknown(
            f"{zh}未记录，无法判定（要求 ≥ {num(minimum)}{unit_zh}）",
            f"{en} not recorded: cannot decide (required ≥ {num(minimum)}{unit_en})",
        )
    if value >= minimum:
        return passed(
            f"{zh} {num(value)} ≥ {num(minimum)}{unit_zh}", f"{en} {num(value)} ≥ {num(minimum)}{unit_en}"
        )
    return failed(
        f"{zh} {num(value)} < {num(minimum)}{unit_zh}", f"{en} {num(value)} < {num(minimum)}{unit_en}"
    )


def combine(*outcomes: Outcome) -> Outcome:
    """Three-valued AND of several partial outcomes, keeping their messages.

    Any FAIL fails (listing the failing parts, then the unknown ones); else
    any UNKNOWN is unknown; NOT_APPLICABLE parts are ignored; else PASS.
    """
    parts = [o for o in outcomes if o.verdict is not Verdict.NOT_APPLICABLE]
    related = tuple(r for o in parts for r in o.related)
    fails = [o for o in parts if o.verdict is Verdict.FAIL]
    unknowns = [o for o in parts if o.verdict is Verdict.UNKNOWN]
    if fails:
        zh, en = "；".join(o.zh for o in fails), "; ".join(o.en for o in fails)
        if unknowns:
            zh += "；另：" + "；".join(o.zh for o in unknowns)
            en += "; also: " + "; ".join(o.en for o in unknowns)
        return failed(zh, en, related)
    chosen = unknowns or parts
    if not chosen:
        return not_applicable("各项均不适用", "no part applies")
    verdict = Verdict.UNKNOWN if unknowns else Verdict.PASS
    return Outcome(verdict, "；".join(o.zh for o in chosen), "; ".join(o.en for o in chosen), related)
