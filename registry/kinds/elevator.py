"""Elevators 电梯 — 郑州市电梯安全管理办法 (市政府令第221号) (EL-1 … EL-11)."""

from __future__ import annotations

from registry.kinds.base import Choice, FacilityKind, FieldSpec, FieldType, KindSpec, yes_no

ELEVATOR_TYPE = (
    Choice("passenger", "载人电梯", "Passenger lift", ("乘客电梯", "客梯", "载客电梯")),
    Choice("freight", "载货电梯", "Freight lift", ("货梯",)),
    Choice("escalator", "自动扶梯", "Escalator", ("扶梯",)),
    Choice("moving_walk", "自动人行道", "Moving walk", ("人行道",)),
)
INSPECTION_RESULT = (
    Choice("pass", "合格", "Pass", ("检验合格", "通过")),
    Choice("fail", "不合格", "Fail", ("检验不合格", "未通过")),
)
ASSESSMENT_RESULT = INSPECTION_RESULT

SPEC = KindSpec(
    kind=FacilityKind.ELEVATOR,
    zh="电梯",
    en="Elevator",
    color="#2980b9",
    statuses=(
        Choice("in_use", "在用", "In use", ("使用中", "正常")),
        Choice("suspended", "停用", "Suspended", ("停止使用", "暂停")),
        Choice("scrapped", "报废", "Scrapped", ("已报废", "注销")),
    ),
    fields=(
        FieldSpec("registration_code", FieldType.STR, "设备注册代码", "Registration code", ("注册代码", "设备代码"),
                  rules=("EL-1",)),
        yes_no("registered", "已办理使用登记", "Registered before use", "使用登记", rules=("EL-1",)),
        yes_no("modified", "经过改造", "Modified", "改造", rules=("EL-1",)),
        yes_no("re_registered", "改造后变更登记", "Re-registered after modification", "变更登记", rules=("EL-1",)),
        FieldSpec("elevator_type", FieldType.ENUM, "电梯类型", "Type", ("设备类别", "品种"), ELEVATOR_TYPE),
        FieldSpec("owner", FieldType.STR, "产权单位", "Owner", ("所有权人", "产权人")),
        FieldSpec("user_unit", FieldType.STR, "使用单位", "User unit", ("使用管理单位",)),
        FieldSpec("maintenance_unit", FieldType.STR, "维保单位", "Maintenance unit", ("维护保养单位",),
                  rules=("EL-8",)),
        yes_no("maintenance_qualified", "维保单位有资质", "Maintenance unit qualified", "维保资质", rules=("EL-8",)),
        yes_no("maintenance_subcontracted", "维保转包分包", "Maintenance subcontracted", "转包", rules=("EL-8",)),
        FieldSpec("records_kept_years", FieldType.FLOAT, "维保记录保存年限", "Maintenance records kept",
                  min_value=0, unit="年", rules=("EL-8",)),
        yes_no("records_confirmed", "使用单位签字确认", "Records confirmed by user unit", rules=("EL-8",)),
        FieldSpec("last_inspection_date", FieldType.DATE, "最近定期检验日期", "Last periodic inspection",
                  ("检验日期", "定检日期"), rules=("EL-2",)),
        FieldSpec("inspection_result", FieldType.ENUM, "检验结论", "Inspection result", ("检验结果",),
                  INSPECTION_RESULT, rules=("EL-2",)),
        FieldSpec("installation_date", FieldType.DATE, "安装日期", "Installed on", ("投用日期",), rules=("EL-3",)),
        FieldSpec("design_life_years", FieldType.INT, "设计使用年限", "Design life", ("设计年限",), min_value=0,
                  unit="年", rules=("EL-3",)),
        FieldSpec("faults_12m", FieldType.INT, "近12个月故障次数", "Faults in last 12 months", ("年故障次数",),
                  min_value=0, rules=("EL-3",)),
        FieldSpec("disaster_exposure", FieldType.STR, "受灾情况", "Disaster exposure",
                  ("水浸火灾雷击地震",), rules=("EL-3",)),
        FieldSpec("disaster_date", FieldType.DATE, "受灾日期", "Disaster date", rules=("EL-3",)),
        FieldSpec("last_assessment_date", FieldType.DATE, "最近安全评估日期", "Last safety assessment",
                  ("安全评估日期",), rules=("EL-3",)),
        yes_no("assessment_posted", "评估结果公示", "Assessment result posted in car", rules=("EL-3",)),
        yes_no("monitoring_device", "安装监测装置", "Monitoring device installed", "监测装置", rules=("EL-4",)),
        yes_no("platform_connected", "接入市级平台", "Connected to city platform", "接入平台", rules=("EL-4",)),
        yes_no("emergency_alarm_ok", "紧急报警装置有效", "Emergency alarm effective", "紧急报警", rules=("EL-5",)),
        yes_no("notices_posted", "标识公示齐全", "Notices posted", "安全注意事项", rules=("EL-6",)),
        yes_no("liability_insurance", "责任保险", "Liability insurance", "电梯责任险", rules=("EL-6",)),
        yes_no("safety_manager_on_duty", "安全管理人员在岗", "Certified safety manager on duty", "安全管理员",
               rules=("EL-7",)),
        yes_no("suspension_reason_posted", "停用原因公告", "Suspension reason posted", rules=("EL-9",)),
        FieldSpec("building_type", FieldType.STR, "场所类型", "Building type", ("使用场所", "场所")),
        yes_no("public_gathering", "公众聚集场所", "Public gathering place", "人员密集场所", rules=("EL-10",)),
        yes_no("private_single_family", "个人自用", "Private single-family elevator", "家用电梯", rules=("EL-11",)),
    ),
)
