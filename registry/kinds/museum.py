"""Museums 博物馆 — 郑政文〔2019〕89号 (MUS-1 … MUS-6)."""

from __future__ import annotations

from registry.kinds.base import Choice, FacilityKind, FieldSpec, FieldType, KindSpec, yes_no

OWNERSHIP = (
    Choice("state", "国有", "State-owned", ("国有博物馆",)),
    Choice("industry", "行业", "Industry", ("行业博物馆",)),
    Choice("non_state", "非国有", "Non-state", ("民办", "私立", "非国有博物馆")),
)
CATEGORY = (
    Choice("comprehensive", "综合性", "Comprehensive", ("综合", "综合类")),
    Choice("thematic", "专题", "Thematic", ("专题(特色)", "专题（特色）", "特色", "专题类")),
    Choice("industry", "行业", "Industry", ("行业类",)),
)
GRADE = (
    Choice("grade1", "一级", "Grade 1", ("国家一级", "一级博物馆", "1")),
    Choice("grade2", "二级", "Grade 2", ("国家二级", "二级博物馆", "2")),
    Choice("grade3", "三级", "Grade 3", ("国家三级", "三级博物馆", "3")),
    Choice("none", "无", "None", ("未定级", "无等级", "0")),
)

SPEC = KindSpec(
    kind=FacilityKind.MUSEUM,
    zh="博物馆",
    en="Museum",
    color="#8e44ad",
    statuses=(
        Choice("planned", "谋划", "Planned", ("规划", "筹建")),
        Choice("building", "在建", "Under construction", ("建设中",)),
        Choice("open", "开放", "Open", ("已开放", "运营")),
        Choice("renovating", "提升改造", "Renovating", ("改造", "改造中")),
    ),
    fields=(
        FieldSpec("ownership", FieldType.ENUM, "所有制", "Ownership", ("性质", "隶属"), OWNERSHIP, rules=("MUS-4",)),
        FieldSpec("category", FieldType.ENUM, "类别", "Category", ("博物馆类别", "博物馆类型"), CATEGORY,
                  rules=("MUS-2", "MUS-3")),
        FieldSpec("grade", FieldType.ENUM, "国家等级", "National grade", ("等级", "定级"), GRADE, rules=("MUS-4",)),
        yes_no("free_admission", "免费开放", "Free admission", "是否免费"),
        FieldSpec("cluster", FieldType.STR, "聚落", "Cluster", ("博物馆聚落", "片区"), rules=("MUS-5",)),
        FieldSpec("opened_year", FieldType.INT, "开放年份", "Year opened", ("建成年份", "开馆年份"),
                  min_value=1900, rules=("MUS-4",)),
        FieldSpec("annual_exhibitions", FieldType.INT, "年展览数", "Exhibitions per year", ("展览数量",),
                  min_value=0, rules=("MUS-4",)),
        FieldSpec("annual_visitors", FieldType.INT, "年观众量", "Visitors per year", ("年参观人次", "观众人次"),
                  min_value=0, unit="人次", rules=("MUS-4",)),
        yes_no("fire_security_ok", "消防安防达标", "Fire & security up to standard", "消防安防", rules=("MUS-6",)),
        yes_no("storage_equipment_ok", "藏品保管装备达标", "Collection storage equipment", "藏品保管",
               rules=("MUS-6",)),
        yes_no("environment_monitoring_ok", "保存环境监测达标", "Storage environment monitoring", "环境监测",
               rules=("MUS-6",)),
        yes_no("display_ok", "陈列展示设施达标", "Display facilities", "陈列展示", rules=("MUS-6",)),
    ),
)
