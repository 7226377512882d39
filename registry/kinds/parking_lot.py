"""Parking lots 停车场 — 郑政〔2019〕7号, 郑政文〔2018〕135号 (PK-1 … PK-8)."""

from __future__ import annotations

from registry.kinds.base import Choice, FacilityKind, FieldSpec, FieldType, KindSpec, yes_no

PARKING_TYPE = (
    Choice("public", "公共", "Public", ("公共停车场",)),
    Choice("dedicated", "专用", "Dedicated", ("专用停车场", "配建")),
    Choice("temporary", "临时", "Temporary", ("临时停车场",)),
    Choice("on_street", "道路停车泊位", "On-street berths", ("路内", "路侧", "道路泊位", "占道")),
)
STRUCTURE = (
    Choice("surface", "地面", "Surface", ("露天", "平面")),
    Choice("underground", "地下", "Underground", ()),
    Choice("multi_storey", "立体", "Multi-storey", ("楼宇式", "多层")),
    Choice("mechanical", "机械", "Mechanical", ("机械式", "机械立体")),
)
ROAD_CLASS = (
    Choice("expressway", "快速路", "Expressway", ()),
    Choice("arterial", "主干路", "Arterial", ("主干道",)),
    Choice("secondary", "次干路", "Secondary", ("次干道",)),
    Choice("branch", "支路", "Branch road", ("街巷",)),
)

SPEC = KindSpec(
    kind=FacilityKind.PARKING_LOT,
    zh="停车场",
    en="Parking lot",
    color="#7f8c8d",
    capacity_field="spaces",
    statuses=(
        Choice("planned", "规划", "Planned", ()),
        Choice("building", "在建", "Under construction", ()),
        Choice("open", "运营", "Operating", ("开放", "在用")),
        Choice("closed", "停业", "Closed", ("关闭", "歇业")),
    ),
    fields=(
        FieldSpec("parking_type", FieldType.ENUM, "停车场类型", "Parking type", ("停车场类别", "类别"), PARKING_TYPE),
        FieldSpec("structure", FieldType.ENUM, "结构形式", "Structure", ("形式",), STRUCTURE),
        FieldSpec("operator", FieldType.STR, "经营单位", "Operator", ("管理单位", "运营单位")),
        FieldSpec("spaces", FieldType.INT, "泊位数", "Spaces", ("车位数", "停车位"), min_value=0, rules=("PK-2",)),
        FieldSpec("ev_spaces", FieldType.INT, "新能源车位数", "EV spaces", ("充电车位",), min_value=0,
                  rules=("PK-1", "PK-2")),
        FieldSpec("ev_chargers", FieldType.INT, "充电桩数", "EV chargers", ("充电设施",), min_value=0,
                  rules=("PK-1", "PK-2")),
        FieldSpec("accessible_spaces", FieldType.INT, "无障碍车位数", "Accessible spaces", min_value=0,
                  rules=("PK-1",)),
        yes_no("operating", "经营性", "Operating (fee-charging)", "是否经营", rules=("PK-2", "PK-3")),
        FieldSpec("licence_date", FieldType.DATE, "营业执照日期", "Business licence date", ("营业执照取得日期",),
                  rules=("PK-3",)),
        FieldSpec("filing_date", FieldType.DATE, "备案日期", "Filing date", ("备案时间",), rules=("PK-3", "PK-8")),
        FieldSpec("fees", FieldType.STR, "收费标准", "Fees", ("收费",), rules=("PK-5",)),
        FieldSpec("hours", FieldType.STR, "开放时间", "Hours", ("营业时间",), rules=("PK-5",)),
        yes_no("platform_connected", "接入市平台", "Live data on city platform", "联网", rules=("PK-5",)),
        yes_no("has_sign", "设置标志", "Sign", "标志标识", rules=("PK-1",)),
        yes_no("hard_surface", "地面硬化", "Hard surface", rules=("PK-1",)),
        yes_no("markings", "标线与泊位编号", "Markings and numbered bays", "施划标线", rules=("PK-1", "PK-8")),
        yes_no("wheel_stops", "车位挡轮器", "Wheel stops", "挡车器", rules=("PK-1",)),
        yes_no("ventilation_lighting_drainage", "通风照明排水", "Ventilation, lighting, drainage", rules=("PK-1",)),
        yes_no("entrances_compliant", "出入口符合规范", "Compliant entrances", rules=("PK-1", "PK-8")),
        yes_no("cctv", "视频监控", "CCTV", "监控", rules=("PK-1",)),
        yes_no("access_control", "出入口控制", "Access control", rules=("PK-1",)),
        yes_no("plate_recognition", "车牌识别", "Plate recognition", rules=("PK-1",)),
        yes_no("fire_equipment", "消防设施", "Fire equipment", rules=("PK-1", "PK-8")),
        yes_no("fire_lanes_clear", "消防通道畅通", "Fire lanes clear", "通道畅通", rules=("PK-1", "PK-8")),
        yes_no("closure_notice_given", "停业提前公告", "30 days' closure notice given", rules=("PK-4",)),
        yes_no("entrance_sign_complete", "入口公示牌齐全", "Entrance sign complete", "公示牌", rules=("PK-5", "PK-8")),
        yes_no("mechanical_inspected", "机械设备检验合格", "Mechanical equipment inspected", rules=("PK-6",)),
        FieldSpec("mechanical_inspection_date", FieldType.DATE, "机械设备检验日期", "Mechanical inspection date",
                  rules=("PK-6",)),
        yes_no("fees_displayed", "明码标价", "Fees displayed", rules=("PK-8",)),
        yes_no("tax_invoices", "出具税务发票", "Tax invoices issued", rules=("PK-8",)),
        yes_no("mixed_parking", "机非混停", "Mixed motor/non-motor parking", rules=("PK-8",)),
        FieldSpec("road_class", FieldType.ENUM, "道路等级", "Road class", ("所在道路等级",), ROAD_CLASS,
                  rules=("PK-7",)),
        yes_no("on_sidewalk_or_green", "占用人行道或绿化带", "On sidewalk or green belt", rules=("PK-7",)),
        yes_no("near_manhole", "距检查井1.5米内", "Within 1.5 m of utility manholes", rules=("PK-7",)),
        yes_no("on_fire_or_emergency_lane", "占用消防急救无障碍通道", "On fire, ambulance or accessible route",
               rules=("PK-7",)),
        FieldSpec("entrances", FieldType.POINTS, "出入口坐标", "Entrances (lon,lat;lon,lat)", ("出入口",)),
    ),
)
