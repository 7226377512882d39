"""City study room facility rules — 郑政文〔2019〕92号 and its 建设导则 (SR-1 … SR-14, SR-17).

Article references: "四(二)" is a section of the 建设方案; "附件 三(二)" is a
section of the attached 郑州市城市书房建设导则.  SR-15 (per district, city
target) is in :mod:`registry.rules.district`; SR-16 (siting) in
:mod:`registry.rules.spatial`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from registry.rules.base import (
    EvalContext,
    Item,
    Outcome,
    Rule,
    Severity,
    add_years,
    as_date,
    as_time,
    at_least,
    checklist,
    combine,
    failed,
    get,
    not_applicable,
    num,
    passed,
    status_outside,
    unknown,
)
from registry.rules.quotes import QUOTES

DOC = "郑政文〔2019〕92号"
STATUS_LABELS = {
    "planned": "规划/planned",
    "building": "在建/under construction",
    "trial": "试运行/trial",
    "open": "开放/open",
    "closed": "闭馆/closed",
}
OPERATING = ("trial", "open")
WINDOW = (dt.time(9, 0), dt.time(23, 0))
MIN_DAILY_HOURS = 15


def _operating(f: Mapping[str, Any]) -> Outcome | None:
    return status_outside(f, OPERATING, STATUS_LABELS)


def _flag(name: str, zh: str, en: str, want: bool = True) -> tuple[Item, ...]:
    return ((name, zh, en, want),)


# --------------------------------------------------------------------------- SR-1 … SR-3
def check_sr1(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-1: floor area ≥ 80 m²."""
    return at_least(f, "floor_area_m2", 80, ("建筑面积", "floor area"), (" m²", " m²"))


def check_sr2(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-2: ≥ 15 reading seats."""
    return at_least(f, "seats", 15, ("阅览座席", "seats"), (" 个", ""))


def check_sr3(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-3: ≥ 3,000 volumes (books, newspapers and magazines), once operating."""
    return _operating(f) or at_least(f, "volumes", 3000, ("图书（含报刊、杂志）", "volumes"), (" 册", ""))


# --------------------------------------------------------------------------- SR-4 opening hours
def _hours(opens: dt.time, closes: dt.time) -> tuple[float, bool]:
    """Return (daily hours, covers 09:00–23:00); a closing time at or before opening is the next day."""
    start = opens.hour * 60 + opens.minute
    end = closes.hour * 60 + closes.minute
    if end <= start:
        end += 24 * 60
    covers = start <= WINDOW[0].hour * 60 and end >= WINDOW[1].hour * 60
    return (end - start) / 60, covers


def check_sr4(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-4: open every day covering 09:00–23:00 (see the catalogue on the 15 h / 14 h discrepancy)."""
    skip = _operating(f)
    if skip:
        return skip
    opens, closes = as_time(get(f, "opens_at")), as_time(get(f, "closes_at"))
    every_day = checklist(f, _flag("open_every_day", "每天开放", "open every day"))
    if opens is None or closes is None:
        return combine(
            every_day,
            unknown(
                "开馆或闭馆时间未记录，无法判定（要求每天 9:00—23:00）",
                "opening or closing time not recorded (required 09:00–23:00 daily)",
            ),
        )
    hours, covers = _hours(opens, closes)
    span = f"{opens:%H:%M}–{closes:%H:%M}（{num(hours)} 小时）"
    span_en = f"{opens:%H:%M}–{closes:%H:%M} ({num(hours)} h)"
    if not covers:
        window = failed(f"开放时间 {span}未覆盖 9:00—23:00", f"hours {span_en} do not cover 09:00–23:00")
    else:
        note = (
            "；注：文件“不少于15小时”与“9:00—23:00”（14小时）不一致，按规定时段判定"
            if hours < MIN_DAILY_HOURS
            else ""
        )
        note_en = (
            "; note: the plan's '≥ 15 hours' and '09:00–23:00' (14 h) disagree; the stated window is applied"
            if hours < MIN_DAILY_HOURS
            else ""
        )
        window = passed(
            f"开放时间 {span}覆盖 9:00—23:00{note}", f"hours {span_en} cover 09:00–23:00{note_en}"
        )
    return combine(every_day, window)


# --------------------------------------------------------------------------- SR-5 renewal
def check_sr5(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-5: collection renewed ≥ 10 % a year from the second year after opening."""
    skip = _operating(f)
    if skip:
        return skip
    opened = as_date(get(f, "opened_date"))
    if opened is not None and ctx.as_of < add_years(opened, 1):
        return not_applicable(
            f"开放于 {opened}，未满一年（次年起更新不少于10%）",
            f"opened {opened}, less than a year ago (10 % renewal applies from the second year)",
        )
    result = at_least(f, "annual_renewal_pct", 10, ("年图书更新比例", "annual renewal"), (" %", " %"))
    if result.verdict.value == "fail" and opened is None:
        return unknown(
            result.zh + "，但开放日期未记录，无法确定是否已满一年",
            result.en + ", but the opening date is not recorded: may still be the first year",
        )
    return result


# --------------------------------------------------------------------------- SR-6 … SR-9 equipment
SR6_ITEMS: tuple[Item, ...] = (
    ("video_surveillance", "安全监控系统", "video surveillance", True),
    ("access_control", "防盗门禁", "anti-theft access control", True),
    ("security_networked", "与公共安防系统联网", "networked with public security", True),
)
SR7_ITEMS: tuple[Item, ...] = (
    ("rfid", "RFID 技术", "RFID", True),
    ("self_service_machine", "自助办证借还一体机", "self-service card/loan/return machine", True),
    ("ebook_machine", "电子书借阅机", "e-book machine", True),
    ("library_interop", "与图书馆通借通还", "loans interoperable with Zhengzhou Library", True),
)
SR9_ITEMS: tuple[Item, ...] = (
    ("has_water", "通水", "water", True),
    ("has_power", "通电", "power", True),
    ("has_network", "通网", "network", True),
)
SR13_ITEMS: tuple[Item, ...] = (
    ("air_conditioning", "冷暖空调", "air-conditioning", True),
    ("drinking_water", "饮水机", "drinking water", True),
    ("first_aid_kit", "急救箱", "first-aid kit", True),
    ("reading_glasses", "老花镜", "reading glasses", True),
    ("umbrellas", "雨伞", "umbrellas", True),
    ("accessible", "无障碍措施", "accessibility", True),
    ("damp_fire_protection", "防水防潮防火", "damp and fire protection", True),
)


def check_sr6(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-6: surveillance and anti-theft access control, networked with public security."""
    return _operating(f) or checklist(f, SR6_ITEMS)


def check_sr7(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-7: RFID, self-service and e-book machines, interoperable loans."""
    return _operating(f) or checklist(f, SR7_ITEMS)


def check_sr8(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-8: internet bandwidth ≥ 100 Mbps and reader Wi-Fi."""
    return _operating(f) or combine(
        at_least(f, "bandwidth_mbps", 100, ("带宽", "bandwidth"), (" Mbps", " Mbps")),
        checklist(f, _flag("wifi", "读者无线网络", "reader Wi-Fi")),
    )


def check_sr9(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-9: water, power and network connected."""
    return _operating(f) or checklist(f, SR9_ITEMS)


# --------------------------------------------------------------------------- SR-10 … SR-14 building
def check_sr10(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-10: not a glass-box building ("原则上")."""
    return checklist(
        f, _flag("glass_box", "玻璃房体", "glass-box building", False), "非玻璃房体", "not a glass box"
    )


def check_sr11(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-11: own toilet inside the room ("原则上")."""
    return checklist(f, _flag("own_toilet", "独立卫生间", "own toilet"))


def check_sr12(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-12: clear title; if rented, lease ≥ 10 years."""
    title = checklist(f, _flag("title_clear", "产权明晰", "clear title"))
    tenure = get(f, "tenure")
    if tenure == "rented":
        lease = at_least(f, "lease_years", 10, ("租期", "lease"), (" 年", " years"))
    elif tenure is None:
        lease = unknown("产权形式（自有/租赁）未记录", "tenure (owned/rented) not recorded")
    else:
        lease = passed("自有产权", "owned")
    return combine(title, lease)


def check_sr13(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-13: amenities, accessibility, damp and fire protection."""
    return _operating(f) or checklist(f, SR13_ITEMS)


def check_sr14(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-14: must not occupy road red-line space, especially sidewalks."""
    return checklist(
        f,
        _flag("occupies_road_space", "侵占道路红线/人行道", "occupies road red-line space", False),
        "未侵占道路红线以内空间",
        "does not occupy road red-line space",
    )


# ------------------------------------------------------------------ SR-17 numbering, logo, evaluation
SR17_METRICS = (
    ("annual_visits", "年接待人次", "visits per year"),
    ("loans_per_reader", "人均外借册次", "loans per reader"),
    ("activities_per_year", "年读者活动次数", "activities per year"),
    ("satisfaction_pct", "读者满意度", "satisfaction"),
)


def check_sr17(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """SR-17: unified number and logo present; evaluation metrics are reported, not judged."""
    skip = _operating(f)
    if skip:
        return skip
    number = get(f, "city_number")
    numbered = (
        passed(f"统一编号 {number}", f"city-wide number {number}")
        if number is not None
        else unknown("统一编号未记录", "city-wide number not recorded")
    )
    result = combine(numbered, checklist(f, _flag("unified_logo", "统一形象标识", "unified logo")))
    recorded = [(zh, en, get(f, name)) for name, zh, en in SR17_METRICS if get(f, name) is not None]
    zh = "；年度评估指标已记录 {}/4{}（仅记录，不作判定）".format(
        len(recorded), "：" + "，".join(f"{z} {num(v)}" for z, _, v in recorded) if recorded else ""
    )
    en = "; annual evaluation metrics recorded {}/4{} (recorded only, not judged)".format(
        len(recorded), ": " + ", ".join(f"{e} {num(v)}" for _, e, v in recorded) if recorded else ""
    )
    return result._replace(zh=result.zh + zh, en=result.en + en)


# --------------------------------------------------------------------------- registry
GUIDE = f"{DOC} 附件"


def _rule(
    rule_id: str, check: Any, severity: Severity, citation: str, req: str, reads: tuple[str, ...], method: str
) -> Rule:
    return Rule(
        id=rule_id,
        kind="study_room",
        scope="facility",
        severity=severity,
        check=check,
        citation=citation,
        requirement_zh=QUOTES[rule_id],
        requirement_en=req,
        reads=reads,
        method=method,
    )


OPERATING_NOTE = " Not applicable before the room operates (planned, under construction) or when closed."
RULES: tuple[Rule, ...] = (
    _rule(
        "SR-1",
        check_sr1,
        "medium",
        f"{DOC} 四(二)",
        "Floor area ≥ 80 m²",
        ("floor_area_m2",),
        "floor_area_m2 ≥ 80; blank is unknown.",
    ),
    _rule(
        "SR-2",
        check_sr2,
        "medium",
        f"{DOC} 四(二)",
        "≥ 15 reading seats",
        ("seats",),
        "seats ≥ 15; blank is unknown.",
    ),
    _rule(
        "SR-3",
        check_sr3,
        "medium",
        f"{DOC} 四(二)；{GUIDE} 三(二)",
        "≥ 3,000 volumes (books, newspapers, magazines)",
        ("volumes", "status"),
        "volumes ≥ 3000; blank is unknown." + OPERATING_NOTE,
    ),
    _rule(
        "SR-4",
        check_sr4,
        "medium",
        f"{DOC} 四(四)；{GUIDE} 四(一)、五(六)",
        (
            "Open ≥ 15 hours every day (09:00–23:00); closures announced in advance; hours not changed "
            "without approval"
        ),
        ("opens_at", "closes_at", "open_every_day", "status"),
        "open_every_day must be yes and opens_at–closes_at must cover 09:00–23:00 (a closing time at or "
        "before the opening time is read as the next day). The plan's '≥ 15 hours' conflicts with its own "
        "window 09:00–23:00 (14 h); the window is applied and the message notes the conflict. Advance "
        "notice of closures and approval of changes are not recorded in the data model." + OPERATING_NOTE,
    ),
    _rule(
        "SR-5",
        check_sr5,
        "low",
        f"{DOC} 四(四)；{GUIDE} 三(二)",
        "Collection renewed ≥ 10 % a year from the second year",
        ("annual_renewal_pct", "opened_date", "status"),
        "annual_renewal_pct ≥ 10. Not applicable in the first year after opened_date; a low rate with no "
        "opened_date is unknown (it may be the first year)." + OPERATING_NOTE,
    ),
    _rule(
        "SR-6",
        check_sr6,
        "high",
        f"{DOC} 四(二)；{GUIDE} 三(四)",
        "Video surveillance and anti-theft access control, networked with public security",
        tuple(i[0] for i in SR6_ITEMS) + ("status",),
        "All three yes/no fields yes." + OPERATING_NOTE,
    ),
    _rule(
        "SR-7",
        check_sr7,
        "low",
        f"{DOC} 四(二)、四(四)；{GUIDE} 三(三)",
        (
            "RFID, self-service card/loan/return machine, e-book machine; loans interoperable with "
            "Zhengzhou Library"
        ),
        tuple(i[0] for i in SR7_ITEMS) + ("status",),
        "All four yes/no fields yes." + OPERATING_NOTE,
    ),
    _rule(
        "SR-8",
        check_sr8,
        "low",
        f"{GUIDE} 三(五)",
        "Internet ≥ 100 Mbps and reader Wi-Fi",
        ("bandwidth_mbps", "wifi", "status"),
        "bandwidth_mbps ≥ 100 and wifi yes." + OPERATING_NOTE,
    ),
    _rule(
        "SR-9",
        check_sr9,
        "medium",
        f"{DOC} 四(二)",
        "Water, power and network connected",
        tuple(i[0] for i in SR9_ITEMS) + ("status",),
        "has_water, has_power, has_network yes." + OPERATING_NOTE,
    ),
    _rule(
        "SR-10",
        check_sr10,
        "low",
        f"{GUIDE} 二(一)",
        "In principle not a glass-box building",
        ("glass_box",),
        "glass_box must be no ('in principle': low severity).",
    ),
    _rule(
        "SR-11",
        check_sr11,
        "low",
        f"{GUIDE} 三(一)",
        "In principle an own toilet inside the room",
        ("own_toilet",),
        "own_toilet must be yes ('in principle': low severity).",
    ),
    _rule(
        "SR-12",
        check_sr12,
        "medium",
        f"{GUIDE} 二(三)、五(三)",
        "Clear title; if rented, clear title and lease ≥ 10 years",
        ("tenure", "title_clear", "lease_years"),
        "title_clear yes; if tenure is rented, lease_years ≥ 10; unknown tenure is unknown.",
    ),
    _rule(
        "SR-13",
        check_sr13,
        "low",
        f"{GUIDE} 三(一)、三(六)",
        (
            "Air-conditioning, drinking water, first-aid kit, reading glasses, umbrellas; accessibility, "
            "damp and fire protection"
        ),
        tuple(i[0] for i in SR13_ITEMS) + ("status",),
        "All seven yes/no fields yes." + OPERATING_NOTE,
    ),
    _rule(
        "SR-14",
        check_sr14,
        "high",
        f"{GUIDE} 五(二)",
        "Must not occupy road red-line space, especially sidewalks",
        ("occupies_road_space",),
        "occupies_road_space must be no.",
    ),
    _rule(
        "SR-17",
        check_sr17,
        "low",
        f"{DOC} 四(四)；{GUIDE} 三(一)、四(五)",
        (
            "Unified city-wide number and logo; annual evaluation of hours, visits, loans per reader, "
            "activities, satisfaction"
        ),
        (
            "city_number",
            "unified_logo",
            "annual_visits",
            "loans_per_reader",
            "activities_per_year",
            "satisfaction_pct",
            "status",
        ),
        "city_number present and unified_logo yes. The evaluation metrics are only recorded by the "
        "registry (the Bureau evaluates them; the guide sets no thresholds): the message lists which are "
        "recorded." + OPERATING_NOTE,
    ),
)
