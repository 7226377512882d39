"""Elevator facility rules — 郑州市电梯使用安全管理办法 (郑州市人民政府令第221号) (EL-1 … EL-9, EL-11).

EL-11 (Art.33) scopes the rest: a private elevator installed in a non-public
place and used by a single family is outside the regulation, so every other
elevator rule is NOT_APPLICABLE for it (unless it is recorded as a public
gathering place: "改作公共使用的，适用本办法").  Scrapped elevators are out of
service and not evaluated either.  EL-10 (priority spot checks) is in
:mod:`registry.rules.spatial`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Any

from registry.rules.base import (
    EvalContext,
    Fine,
    Outcome,
    Rule,
    add_years,
    as_date,
    at_least,
    checklist,
    combine,
    failed,
    get,
    not_applicable,
    num,
    passed,
    unknown,
)
from registry.rules.quotes import QUOTES

DOC = "郑州市人民政府令第221号"
FREQUENT_FAULTS_12M = 5
"""Faults in 12 months from which faults count as "频率较高" (EL-3, EL-10).

Art.22(一) sets no number ("电梯故障频率较高、影响正常使用的"); 5 is this
project's documented default."""
INSPECTION_INTERVAL_YEARS = 1
"""Periodic inspection interval (national safety technical code, not stated in 221号)."""
RECORDS_MIN_YEARS = 4
NO_DISASTER = frozenset({"无", "否", "没有", "none", "no", "n", "0", "false", "未受灾"})

FacilityCheck = Callable[[Mapping[str, Any], EvalContext], Outcome]


def out_of_scope(f: Mapping[str, Any]) -> Outcome | None:
    """NOT_APPLICABLE for a private single-family elevator (Art.33) or a scrapped one."""
    if get(f, "private_single_family") is True and get(f, "public_gathering") is not True:
        return not_applicable(
            "非公共场所安装且仅供单一家庭使用的电梯，不适用本办法（第三十三条）",
            "private single-family elevator: outside the regulation (Art.33)",
        )
    if get(f, "status") == "scrapped":
        return not_applicable("电梯已报废", "elevator scrapped")
    return None


def in_scope(check: FacilityCheck) -> FacilityCheck:
    """Decorate an elevator check so that out-of-scope elevators are NOT_APPLICABLE."""

    @functools.wraps(check)
    def wrapper(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
        return out_of_scope(f) or check(f, ctx)

    return wrapper


# --------------------------------------------------------------------------- EL-1
@in_scope
def check_el1(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-1: registered before use; re-registered after modification."""
    code = get(f, "registration_code")
    if get(f, "registered") is None and code is not None:
        registered = passed(f"设备注册代码 {code}", f"registration code {code}")
    else:
        registered = checklist(f, (("registered", "办理使用登记", "registered", True),))
    modified = get(f, "modified")
    if modified is False:
        changed = passed("未改造", "not modified")
    elif get(f, "re_registered") is True:
        changed = passed("改造后已变更登记", "re-registered after modification")
    elif modified is True:
        changed = checklist(
            f, (("re_registered", "改造后变更使用登记", "re-registered after modification", True),)
        )
    else:
        changed = unknown("是否经过改造未记录（改造须变更登记）", "whether it was modified is not recorded")
    return combine(registered, changed)


# --------------------------------------------------------------------------- EL-2
def _stop_note(status: str | None) -> tuple[str, str]:
    if status == "in_use":
        return (
            "；电梯仍在用，应停止使用（第十九条）",
            "; the elevator is still in use and must be suspended (Art.19)",
        )
    return "；如仍在用，应停止使用（第十九条）", "; if still in use it must be suspended (Art.19)"


@in_scope
def check_el2(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-2: periodic inspection within the last year and passed; otherwise the elevator is suspended."""
    last, result, status = (
        as_date(get(f, "last_inspection_date")),
        get(f, "inspection_result"),
        get(f, "status"),
    )
    if last is None or last > ctx.as_of:
        why = (
            ("最近定期检验日期未记录", "last periodic inspection date not recorded")
            if last is None
            else (
                f"最近定期检验日期 {last} 晚于评估日期 {ctx.as_of}",
                f"inspection date {last} is after {ctx.as_of}",
            )
        )
        return unknown(*why)
    due = add_years(last, INSPECTION_INTERVAL_YEARS)
    problems = (
        [(f"检验已过期（{last} 检验，{due} 到期）", f"inspection overdue (inspected {last}, due {due})")]
        if ctx.as_of > due
        else []
    )
    if result == "fail":
        problems.append((f"最近定期检验（{last}）不合格", f"last periodic inspection ({last}) failed"))
    if problems:
        zh, en = "；".join(p[0] for p in problems), "; ".join(p[1] for p in problems)
        if status == "suspended":
            return passed(
                zh + "；电梯已停用，恢复使用前须检验合格",
                en + "; the elevator is suspended and must pass inspection before use",
            )
        stop_zh, stop_en = _stop_note(status)
        return failed(zh + stop_zh, en + stop_en)
    if result == "pass":
        return passed(
            f"最近定期检验 {last} 合格，有效期至 {due}",
            f"passed periodic inspection on {last}, valid to {due}",
        )
    return unknown(f"最近定期检验 {last}，检验结论未记录", f"inspected {last}, result not recorded")


# --------------------------------------------------------------------------- EL-3
def disaster_exposed(f: Mapping[str, Any]) -> bool | None:
    """Return whether ``disaster_exposure`` records a flood/fire/lightning/earthquake (None if blank)."""
    text = get(f, "disaster_exposure")
    if text is None:
        return None
    return str(text).strip().lower() not in NO_DISASTER


def _triggers(
    f: Mapping[str, Any], as_of: dt.date
) -> tuple[list[tuple[dt.date | None, str, str]], list[str]]:
    """Return the triggers met (date from which an assessment is due, zh, en) and what is undecided (en)."""
    met: list[tuple[dt.date | None, str, str]] = []
    undecided: list[str] = []
    faults = get(f, "faults_12m")
    if faults is None:
        undecided.append("近12个月故障次数/faults in last 12 months")
    elif faults >= FREQUENT_FAULTS_12M:
        met.append(
            (
                as_of - dt.timedelta(days=365),
                f"近12个月故障 {num(faults)} 次 ≥ {FREQUENT_FAULTS_12M}",
                f"{num(faults)} faults in 12 months ≥ {FREQUENT_FAULTS_12M}",
            )
        )
    exposed = disaster_exposed(f)
    if exposed is None:
        undecided.append("受灾情况/disaster exposure")
    elif exposed:
        text = get(f, "disaster_exposure")
        met.append(
            (as_date(get(f, "disaster_date")), f"曾遭遇灾害（{text}）", f"exposed to disaster ({text})")
        )
    installed, life = as_date(get(f, "installation_date")), get(f, "design_life_years")
    if installed is None or life is None:
        undecided.append("安装日期或设计使用年限/installation date or design life")
    elif add_years(installed, int(life)) <= as_of:
        end = add_years(installed, int(life))
        met.append(
            (
                end,
                f"已达设计使用年限 {num(life)} 年（{end}）",
                f"design life of {num(life)} years reached ({end})",
            )
        )
    return met, undecided


def _timing(
    last: dt.date | None, met: list[tuple[dt.date | None, str, str]], undecided: list[str], as_of: dt.date
) -> Outcome:
    """Whether the last assessment follows every trigger (and any trigger that cannot be decided)."""
    why_zh, why_en = "、".join(m[1] for m in met), "; ".join(m[2] for m in met)
    if last is None:
        return unknown(
            f"{why_zh}，须进行安全评估，但最近安全评估日期未记录",
            f"{why_en}: safety assessment required, but no assessment date recorded",
        )
    late = [m for m in met if m[0] is not None and last < m[0]]
    if late:
        return failed(
            f"{'、'.join(m[1] for m in late)}，最近安全评估 {last} 早于触发日期 {late[0][0]}",
            f"{'; '.join(m[2] for m in late)}: last safety assessment {last} predates the "
            f"trigger {late[0][0]}",
        )
    if any(m[0] is None for m in met):
        return unknown(
            f"{why_zh}，受灾日期未记录，无法确认 {last} 的评估在其后",
            f"{why_en}: disaster date not recorded, cannot tell whether the {last} assessment followed it",
        )
    # An undecided fault count is harmless when the assessment is within the last 12 months anyway.
    open_triggers = [
        u for u in undecided if not (u.startswith("近12") and last >= as_of - dt.timedelta(days=365))
    ]
    if open_triggers:
        names = [u.split("/") for u in open_triggers]
        return unknown(
            f"{why_zh}，已于 {last} 安全评估；但未记录{'、'.join(n[0] for n in names)}，无法排除更晚的触发",
            f"{why_en}: assessed on {last}, but {', '.join(n[1] for n in names)} not recorded: a later "
            "trigger cannot be ruled out",
        )
    return passed(f"{why_zh}，已于 {last} 安全评估", f"{why_en}: assessed on {last}")


@in_scope
def check_el3(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-3: safety assessment after frequent faults, disaster or design life; result posted."""
    met, undecided = _triggers(f, ctx.as_of)
    if met:
        posted = checklist(
            f, (("assessment_posted", "评估意见张贴在轿厢内或出入口", "assessment posted in the car", True),)
        )
        return combine(_timing(as_date(get(f, "last_assessment_date")), met, undecided, ctx.as_of), posted)
    if undecided:
        names = [u.split("/") for u in undecided]
        return unknown(
            f"无法判定是否须安全评估：未记录{'、'.join(n[0] for n in names)}",
            f"cannot tell whether an assessment is required: {', '.join(n[1] for n in names)} not recorded",
        )
    return not_applicable(
        f"无需安全评估（近12个月故障 {num(get(f, 'faults_12m'))} 次 < {FREQUENT_FAULTS_12M}，"
        "未受灾，未达设计使用年限）",
        f"no assessment required ({num(get(f, 'faults_12m'))} faults < {FREQUENT_FAULTS_12M}, "
        "no disaster, design life not reached)",
    )


# --------------------------------------------------------------------------- EL-4 … EL-9
@in_scope
def check_el4(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-4: monitoring device installed and connected to the city platform."""
    return checklist(
        f,
        (
            ("monitoring_device", "电梯安全运行监控设备", "monitoring device", True),
            ("platform_connected", "与市质量安全监管平台连接", "connected to the city platform", True),
        ),
    )


@in_scope
def check_el5(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-5: emergency alarm effective."""
    return checklist(f, (("emergency_alarm_ok", "紧急报警装置有效", "emergency alarm effective", True),))


@in_scope
def check_el6(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-6: notices posted (instructions, registration mark, rescue phone, insurance information)."""
    result = checklist(
        f, (("notices_posted", "安全注意事项、使用登记标志、应急救援电话、投保信息", "notices posted", True),)
    )
    insured = get(f, "liability_insurance")
    if insured is False:
        return result._replace(
            zh=result.zh + "（未投保电梯安全责任险：本办法为推行，非强制）",
            en=result.en + " (no liability insurance: encouraged, not mandatory, Art.6)",
        )
    return result


@in_scope
def check_el7(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-7: certified safety manager on duty while the elevator runs."""
    if get(f, "status") == "suspended":
        return not_applicable("电梯停用，不在运行期间", "suspended: not running")
    return checklist(
        f, (("safety_manager_on_duty", "安全管理人员持证在岗", "certified safety manager on duty", True),)
    )


def _records(f: Mapping[str, Any], as_of: dt.date) -> Outcome:
    """Records kept ≥ 4 years (or since installation, for younger elevators)."""
    kept, installed = get(f, "records_kept_years"), as_date(get(f, "installation_date"))
    if kept is not None and kept < RECORDS_MIN_YEARS and installed is None:
        return unknown(
            f"维保记录保存 {num(kept)} 年 < {RECORDS_MIN_YEARS} 年，但安装日期未记录，无法判断是否投用不足4年",
            f"records kept {num(kept)} < {RECORDS_MIN_YEARS} years, but the installation date is not "
            "recorded: the elevator may be younger",
        )
    if kept is not None and kept < RECORDS_MIN_YEARS and installed is not None:
        age = (as_of - installed).days / 365.25
        if kept >= age:
            return passed(
                f"维保记录保存 {num(kept)} 年（投用 {num(round(age, 1))} 年，自投用起全部保存）",
                f"records kept {num(kept)} years (in use {num(round(age, 1))} years: all kept)",
            )
    return at_least(
        f, "records_kept_years", RECORDS_MIN_YEARS, ("维护保养档案保存", "records kept"), (" 年", " years")
    )


@in_scope
def check_el8(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-8: qualified maintenance unit, no subcontracting, records ≥ 4 years, confirmed by the user unit."""
    unit = get(f, "maintenance_unit")
    named = (
        passed(f"维保单位 {unit}", f"maintenance unit {unit}")
        if unit is not None
        else unknown("维保单位未记录", "maintenance unit not recorded")
    )
    items = (
        ("maintenance_qualified", "维保单位具有相应资质", "maintenance unit qualified", True),
        ("maintenance_subcontracted", "分包、转包维护保养业务", "maintenance subcontracted", False),
        ("records_confirmed", "使用单位确认维护保养记录", "records confirmed by the user unit", True),
    )
    return combine(named, checklist(f, items), _records(f, ctx.as_of))


@in_scope
def check_el9(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-9: a suspended elevator posts the reason."""
    status = get(f, "status")
    if status is None:
        return unknown("电梯使用状态未记录", "elevator status not recorded")
    if status != "suspended":
        return not_applicable("电梯在用，无需公示停用原因", "in use: no suspension notice needed")
    return checklist(f, (("suspension_reason_posted", "及时公示停用原因", "suspension reason posted", True),))


# --------------------------------------------------------------------------- EL-11
def check_el11(f: Mapping[str, Any], ctx: EvalContext) -> Outcome:
    """EL-11 (advisory): whether the regulation applies at all."""
    private, public = get(f, "private_single_family"), get(f, "public_gathering")
    if private is True and public is not True:
        return not_applicable(
            "非公共场所安装且仅供单一家庭使用，不适用本办法；其他电梯条款均不适用",
            "private single-family elevator: outside the regulation; other elevator rules do not apply",
        )
    if private is None:
        return unknown(
            "是否个人自用电梯未记录；按适用本办法评估其他条款",
            "private single-family use not recorded; other rules evaluated as if in scope",
        )
    return passed("公共使用电梯，适用本办法", "elevator in public use: the regulation applies")


# --------------------------------------------------------------------------- registry
def _fine(lo: int, hi: int, art: str, zh: str, en: str) -> Fine:
    return Fine(lo, hi, f"{DOC} {art}", zh, en)


FINE_28 = ("第二十八条", "责令限期改正，逾期未改正的，处5000元以上2万元以下罚款")
RULES: tuple[Rule, ...] = (
    Rule(
        id="EL-1",
        kind="elevator",
        scope="facility",
        severity="high",
        check=check_el1,
        citation=f"{DOC} 第十一条",
        requirement_zh=QUOTES["EL-1"],
        requirement_en="Registered with the special-equipment authority before use; re-registered after "
        "modification or renewal",
        reads=("registered", "registration_code", "modified", "re_registered"),
        method="registered yes (a recorded registration_code counts when registered is blank); if modified, "
        "re_registered yes; unknown modification is unknown. 221号 sets no fine for this (Art.27 defers "
        "to national law).",
    ),
    Rule(
        id="EL-2",
        kind="elevator",
        scope="facility",
        severity="high",
        check=check_el2,
        citation=f"{DOC} 第十九条(二)、第二十一条",
        requirement_zh=QUOTES["EL-2"],
        requirement_en="Periodic inspection current (once a year under the national code) and passed; "
        "an uninspected or failed elevator must be suspended",
        reads=("last_inspection_date", "inspection_result", "status"),
        method="Current = last_inspection_date + 1 year ≥ as_of (the 1-year interval is the national safety "
        "technical code; 221号 states none). Overdue or failed fails, with 'must be suspended' when "
        "status is in_use; a suspended elevator meets the obligation and passes with a note. Blank date "
        "or (when current) blank result is unknown.",
    ),
    Rule(
        id="EL-3",
        kind="elevator",
        scope="facility",
        severity="high",
        check=check_el3,
        citation=f"{DOC} 第二十二条",
        fines=(
            _fine(
                10_000,
                50_000,
                "第三十条",
                "未按规定进行安全评估或者未按评估意见改造、修理、更新，逾期未改正",
                "no safety assessment, or assessment opinion not followed, not corrected in time",
            ),
        ),
        requirement_zh=QUOTES["EL-3"],
        requirement_en="Safety assessment when faults are frequent, after flood/fire/lightning/earthquake, "
        "or at design life; result posted in the car",
        reads=(
            "faults_12m",
            "disaster_exposure",
            "disaster_date",
            "installation_date",
            "design_life_years",
            "last_assessment_date",
            "assessment_posted",
        ),
        method=f"Triggers: faults_12m ≥ {FREQUENT_FAULTS_12M} (project default: Art.22 gives no number; the "
        "assessment must fall within the last 12 months), disaster_exposure recorded (assessment after "
        "disaster_date), installation_date + design_life_years ≤ as_of (assessment after that date). "
        "Passes when last_assessment_date follows every trigger and assessment_posted is yes. No "
        "trigger: not applicable; a trigger undecidable for lack of data: unknown.",
    ),
    Rule(
        id="EL-4",
        kind="elevator",
        scope="facility",
        severity="medium",
        check=check_el4,
        citation=f"{DOC} 第十三条",
        fines=(
            _fine(
                10_000,
                30_000,
                "第二十九条(四)",
                "未安装电梯安全运行监控设备，或者未保持其有效运行",
                "no monitoring device, or not kept running",
            ),
        ),
        requirement_zh=QUOTES["EL-4"],
        requirement_en="Monitoring device installed and connected to the city platform",
        reads=("monitoring_device", "platform_connected"),
        method="Both yes/no fields yes.",
    ),
    Rule(
        id="EL-5",
        kind="elevator",
        scope="facility",
        severity="high",
        check=check_el5,
        citation=f"{DOC} 第十二条(五)",
        requirement_zh=QUOTES["EL-5"],
        requirement_en="Emergency alarm installed and effective",
        reads=("emergency_alarm_ok",),
        method="emergency_alarm_ok yes. 221号 sets no fine for this item.",
    ),
    Rule(
        id="EL-6",
        kind="elevator",
        scope="facility",
        severity="medium",
        check=check_el6,
        citation=f"{DOC} 第十二条(六)",
        fines=(
            _fine(
                10_000,
                30_000,
                "第二十九条(二)",
                "未在电梯显著位置张贴应急救援电话",
                "rescue phone not posted (the only notice the fine covers)",
            ),
        ),
        requirement_zh=QUOTES["EL-6"],
        requirement_en="Safety instructions, registration mark, rescue phone and insurance information "
        "posted",
        reads=("notices_posted", "liability_insurance"),
        method="notices_posted yes. Liability insurance itself is encouraged (Art.6), not required: a 'no' "
        "is only noted.",
    ),
    Rule(
        id="EL-7",
        kind="elevator",
        scope="facility",
        severity="medium",
        check=check_el7,
        citation=f"{DOC} 第十二条(三)",
        fines=(
            _fine(
                5_000,
                20_000,
                "第二十八条(一)",
                "电梯运行期间安全管理人员未在岗，逾期未改正",
                "safety manager absent while running, not corrected in time",
            ),
        ),
        requirement_zh=QUOTES["EL-7"],
        requirement_en="Certified safety manager on duty while the elevator runs",
        reads=("safety_manager_on_duty", "status"),
        method="safety_manager_on_duty yes; not applicable when suspended.",
    ),
    Rule(
        id="EL-8",
        kind="elevator",
        scope="facility",
        severity="medium",
        check=check_el8,
        citation=f"{DOC} 第十二条(四)、第十七条、第十八条(五)",
        fines=(
            _fine(
                10_000,
                30_000,
                "第二十九条(一)",
                "使用单位未对维修保养记录进行确认",
                "user unit did not confirm records",
            ),
            _fine(
                10_000, 100_000, "第三十一条", "维保单位违反第十八条", "maintenance unit in breach of Art.18"
            ),
        ),
        requirement_zh=QUOTES["EL-8"],
        requirement_en="Maintained by a qualified unit, no subcontracting; records kept ≥ 4 years; user unit "
        "confirms records",
        reads=(
            "maintenance_unit",
            "maintenance_qualified",
            "maintenance_subcontracted",
            "records_kept_years",
            "records_confirmed",
            "installation_date",
        ),
        method="maintenance_unit recorded, maintenance_qualified yes, maintenance_subcontracted no, "
        "records_confirmed yes, records_kept_years ≥ 4 (or ≥ the elevator's age when younger).",
    ),
    Rule(
        id="EL-9",
        kind="elevator",
        scope="facility",
        severity="low",
        check=check_el9,
        citation=f"{DOC} 第十二条(九)",
        fines=(
            _fine(
                5_000,
                20_000,
                "第二十八条(三)",
                "电梯停用，未公示停用原因，逾期未改正",
                "suspension reason not posted, not corrected in time",
            ),
        ),
        requirement_zh=QUOTES["EL-9"],
        requirement_en="A suspended elevator posts the reason",
        reads=("status", "suspension_reason_posted"),
        method="Only for status suspended: suspension_reason_posted yes. In use: not applicable; blank "
        "status: unknown.",
    ),
    Rule(
        id="EL-11",
        kind="elevator",
        scope="facility",
        severity="info",
        check=check_el11,
        advisory=True,
        citation=f"{DOC} 第三十三条",
        requirement_zh=QUOTES["EL-11"],
        requirement_en="Private single-family elevators in non-public places are out of scope (in scope "
        "again once put to public use)",
        reads=("private_single_family", "public_gathering"),
        method="Advisory (never changes status). private_single_family yes (and not a public gathering "
        "place): "
        "not applicable, and every other elevator rule is not applicable; no: pass (in scope); blank: "
        "unknown, other rules evaluated as in scope.",
    ),
)
