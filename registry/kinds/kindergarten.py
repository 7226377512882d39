"""Kindergartens 幼儿园 — 郑政办〔2019〕31号, 郑政办〔2018〕69号 (KG-1 … KG-7)."""

from __future__ import annotations

from registry.kinds.base import Choice, FacilityKind, FieldSpec, FieldType, KindSpec, yes_no

OPERATOR_TYPE = (
    Choice("public", "公办", "Public", ("公办园", "公立")),
    Choice("inclusive_private", "普惠性民办", "Inclusive private", ("普惠民办", "普惠性民办园", "普惠")),
    Choice("for_profit", "营利性民办", "For-profit private", ("营利性", "民办营利性", "非普惠民办")),
)
SUPPORTING_STAGE = (
    Choice("planned", "规划", "Planned", ("规划中",)),
    Choice("built", "建成", "Built", ("已建成",)),
    Choice("handed_over", "移交", "Handed over", ("已移交",)),
    Choice("in_use", "使用", "In use", ("已使用", "投入使用")),
)
DISPOSITION = (
    Choice("admit", "准入", "Admit", ("批准", "准许")),
    Choice("rectify", "整改", "Rectify", ("限期整改",)),
    Choice("merge", "整合", "Merge", ("合并",)),
    Choice("close", "取缔", "Close", ("关停", "取缔关闭")),
)

SPEC = KindSpec(
    kind=FacilityKind.KINDERGARTEN,
    zh="幼儿园",
    en="Kindergarten",
    color="#e67e22",
    capacity_field="places",
    statuses=(
        Choice("planned", "规划", "Planned", ()),
        Choice("building", "在建", "Under construction", ()),
        Choice("open", "开办", "Operating", ("开园", "运营", "在办")),
        Choice("closed", "停办", "Closed", ("关闭", "已取缔")),
    ),
    fields=(
        FieldSpec("operator_type", FieldType.ENUM, "办园性质", "Operator type", ("性质", "办园类型"), OPERATOR_TYPE,
                  rules=("KG-1",)),
        yes_no("residential_supporting", "小区配套", "Residential-supporting", "是否小区配套", rules=("KG-1", "KG-2")),
        FieldSpec("supporting_stage", FieldType.ENUM, "配套阶段", "Supporting stage", ("配套园状态",),
                  SUPPORTING_STAGE, rules=("KG-2",)),
        FieldSpec("handed_over_date", FieldType.DATE, "移交日期", "Handed over on", rules=("KG-2",)),
        yes_no("licensed", "有证", "Licensed", "是否有证", rules=("KG-3",)),
        FieldSpec("disposition", FieldType.ENUM, "处置方式", "Disposition", ("无证园处置",), DISPOSITION,
                  rules=("KG-3",)),
        FieldSpec("disposition_date", FieldType.DATE, "处置完成日期", "Disposition completed on", rules=("KG-3",)),
        yes_no("operating_licence", "办学许可证", "Operating licence", rules=("KG-5",)),
        yes_no("legal_person_registered", "法人登记", "Legal-person registration", rules=("KG-5",)),
        yes_no("serves_meals", "提供餐食", "Serves meals", "供餐", rules=("KG-5",)),
        yes_no("food_licence", "食品经营许可证", "Food licence", rules=("KG-5",)),
        yes_no("health_evaluation", "卫生评价报告", "Health evaluation", rules=("KG-5",)),
        FieldSpec("places", FieldType.INT, "学位数", "Places", ("学位", "核定学位"), min_value=0),
        FieldSpec("enrolment", FieldType.INT, "在园人数", "Enrolment", ("在园幼儿数",), min_value=0),
        yes_no("guards", "专职保安", "Guards and gate duty", "保安", rules=("KG-4",)),
        yes_no("anti_ramming", "防冲撞设施", "Hard anti-ramming barriers", "硬质防冲撞", rules=("KG-4",)),
        yes_no("anti_ramming_installable", "具备安装防冲撞条件", "Barriers installable", rules=("KG-4",)),
        yes_no("entrance_video", "出入口视频监控", "Video capture at main entrance", rules=("KG-4",)),
        yes_no("closed_management", "封闭化管理", "Closed management", rules=("KG-4",)),
        yes_no("alarm_linked", "一键报警", "One-button alarm linked to police", rules=("KG-4",)),
        FieldSpec("entrance", FieldType.POINTS, "大门坐标", "Main entrance (lon,lat)", ("主出入口坐标", "大门位置"),
                  rules=("PK-7",)),
    ),
)
