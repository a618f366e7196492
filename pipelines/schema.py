"""The inbox contract of SPEC §2 as data: sources, entities, columns, value sets and reason codes.

Each entity is one kind of input file (told by its name prefix inside its source folder) and lands
in one raw table ``raw.<source>__<entity>``: one row per loaded input row, every version kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Reason codes for quarantined rows (SPEC §3), with the Chinese label the quality page shows.
REASONS: dict[str, str] = {
    "bad_encoding_row": "编码错误",
    "malformed_row": "行格式错误",
    "missing_required": "必填项缺失",
    "bad_id_checksum": "身份证校验位错误",
    "bad_id_format": "身份证号格式错误",
    "id_gender_mismatch": "性别与身份证不符",
    "id_birth_mismatch": "出生日期与身份证不符",
    "bad_timestamp": "时间无法识别",
    "invalid_value": "取值不在代码表内",
    "timestamps_out_of_order": "时间先后顺序错误",
    "negative_points": "积分为负",
    "unknown_grid": "网格不存在",
    "unknown_building": "楼栋不存在",
    "unknown_device": "设备不存在",
    "unknown_activity": "活动不存在",
    "unknown_worker": "人员不存在",
    "coordinates_out_of_area": "坐标超出辖区",
    "duplicate_key": "主键重复",
}


@dataclass(frozen=True)
class Col:
    name: str  # canonical English name (the column in raw/staging)
    zh: str  # canonical Chinese header
    kind: str = "str"  # str | code | ts | float | int | id | phone | enum | tags | lon | lat | wkt
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values for kind == "enum"
    default: str | None = None
    aliases: tuple[str, ...] = ()  # further accepted headers


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    prefixes: tuple[str, ...]  # file name prefixes; () = any file in the folder
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()  # unique key inside one file (and latest version overall)
    version_col: str | None = None  # newest version wins by this column
    ts_order: tuple[str, ...] = ()  # these timestamps must not decrease, where present
    extra: dict = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"{self.source}__{self.name}"

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


POSTS = ("网格长", "网格员", "社工", "包挂干部", "志愿者")
RESIDENCE = ("户籍", "常住", "流动", "租住")
CHANNELS = ("你拍我办", "12345", "网格巡查", "数字吹哨")
URGENCY = ("一般", "紧急")
SATISFACTION = ("满意", "基本满意", "不满意")
DEVICE_TYPES = ("烟感", "电动车充电", "电梯", "消防通道", "井盖", "水表", "电表")
EVENT_TYPES = ("告警", "故障", "心跳", "读数")
DISPOSITIONS = ("有效", "误报")
GENDERS = ("男", "女")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "registry",
        "grids",
        ("grids",),
        (
            Col("grid_code", "网格编码", "code", True),
            Col("grid_name", "网格名称", "str", True),
            Col("community", "社区", "str", True),
            Col("street", "街道", "str", True),
            Col("lon", "中心经度", "lon"),
            Col("lat", "中心纬度", "lat"),
            Col("boundary", "边界", "wkt"),
        ),
        key=("grid_code",),
    ),
    Entity(
        "registry",
        "workers",
        ("workers",),
        (
            Col("worker_id", "人员编号", "code", True),
            Col("name", "姓名", "str", True),
            Col("post", "岗位", "enum", True, POSTS),
            Col("grid_code", "网格编码", "code", True),
            Col("phone", "联系电话", "phone"),
        ),
        key=("worker_id",),
    ),
    Entity(
        "registry",
        "buildings",
        ("buildings",),
        (
            Col("building_code", "楼栋编码", "code", True),
            Col("address", "地址", "str", True),
            Col("grid_code", "网格编码", "code", True),
            Col("estate", "小区", "str"),
            Col("lon", "经度", "lon"),
            Col("lat", "纬度", "lat"),
            Col("households", "户数", "int"),
        ),
        key=("building_code",),
    ),
    Entity(
        "registry",
        "persons",
        ("persons",),
        (
            Col("name", "姓名", "str", True),
            Col("id_number", "公民身份号码", "id", True, aliases=("身份证号", "身份证号码")),
            Col("gender", "性别", "enum", values=GENDERS),
            Col("birth_date", "出生日期", "ts"),
            Col("phone", "联系电话", "phone"),
            Col("household_id", "户号", "code", True),
            Col("building_code", "楼栋编码", "code", True),
            Col("room", "房号", "str"),
            Col("relation", "与户主关系", "str"),
            Col("residence_type", "居住类型", "enum", values=RESIDENCE),
            Col("political_status", "政治面貌", "str"),
            Col("tags", "人员标签", "tags"),
            Col("updated_at", "更新时间", "ts"),
        ),
        key=("id_number",),
        version_col="updated_at",
    ),
    Entity(
        "complaints",
        "tickets",
        (),
        (
            Col("ticket_id", "工单编号", "code", True),
            Col("source", "来源", "enum", True, CHANNELS),
            Col("category", "诉求类型", "str", True),
            Col("content", "诉求内容", "str"),
            Col("urgency", "紧急程度", "enum", values=URGENCY, default="一般"),
            Col("building_code", "楼栋编码", "code"),
            Col("address", "地址", "str"),
            Col("grid_code", "网格编码", "code"),
            Col("lon", "经度", "lon"),
            Col("lat", "纬度", "lat"),
            Col("reported_at", "上报时间", "ts", True),
            Col("dispatched_at", "派单时间", "ts"),
            Col("responded_at", "响应时间", "ts"),
            Col("resolved_at", "办结时间", "ts"),
            Col("closed_at", "结案时间", "ts"),
            Col("department", "承办部门", "str"),
            Col("handler_id", "处理人编号", "code"),
            Col("satisfaction", "满意度", "enum", values=SATISFACTION),
            Col("status", "状态", "str"),
            Col("updated_at", "更新时间", "ts"),
            Col("reporter_id_number", "诉求人身份证号", "id"),
        ),
        key=("ticket_id",),
        version_col="updated_at",
        ts_order=("reported_at", "dispatched_at", "responded_at", "resolved_at", "closed_at"),
    ),
    Entity(
        "volunteers",
        "activities",
        ("activities",),
        (
            Col("activity_id", "活动编号", "code", True),
            Col("name", "活动名称", "str", True),
            Col("activity_type", "活动类型", "str", True),
            Col("grid_code", "网格编码", "code"),
            Col("start_at", "开始时间", "ts", True),
            Col("end_at", "结束时间", "ts", True),
        ),
        key=("activity_id",),
        ts_order=("start_at", "end_at"),
    ),
    Entity(
        "volunteers",
        "records",
        ("records",),
        (
            Col("record_id", "记录编号", "code", True),
            Col("activity_id", "活动编号", "code", True),
            Col("id_number", "身份证号", "id", True, aliases=("公民身份号码",)),
            Col("check_in", "签到时间", "ts", True),
            Col("check_out", "签退时间", "ts"),
            Col("points", "获得积分", "float", True),
        ),
        key=("record_id",),
        ts_order=("check_in", "check_out"),
    ),
    Entity(
        "volunteers",
        "redemptions",
        ("redemptions",),
        (
            Col("redemption_id", "兑换编号", "code", True),
            Col("id_number", "身份证号", "id", True, aliases=("公民身份号码",)),
            Col("item", "兑换项目", "str", True),
            Col("points", "消耗积分", "float", True),
            Col("redeemed_at", "兑换时间", "ts", True),
        ),
        key=("redemption_id",),
    ),
    Entity(
        "sensors",
        "devices",
        ("devices",),
        (
            Col("device_id", "设备编号", "code", True),
            Col("device_type", "设备类型", "enum", True, DEVICE_TYPES),
            Col("building_code", "楼栋编码", "code"),
            Col("household_id", "户号", "code"),
            Col("grid_code", "网格编码", "code"),
            Col("lon", "经度", "lon"),
            Col("lat", "纬度", "lat"),
            Col("installed_at", "安装时间", "ts"),
        ),
        key=("device_id",),
    ),
    Entity(
        "sensors",
        "events",
        ("events",),
        (
            Col("device_id", "设备编号", "code", True),
            Col("ts", "事件时间", "ts", True),
            Col("event_type", "事件类型", "enum", True, EVENT_TYPES),
            Col("value", "数值", "float"),
            Col("disposition", "处置结果", "enum", values=DISPOSITIONS),
        ),
    ),
    Entity(
        "patrols",
        "tracks",
        ("tracks",),
        (
            Col("worker_id", "人员编号", "code", True),
            Col("ts", "时间", "ts", True),
            Col("lon", "经度", "lon", True),
            Col("lat", "纬度", "lat", True),
        ),
    ),
    Entity(
        "patrols",
        "visits",
        ("visits",),
        (
            Col("worker_id", "人员编号", "code", True),
            Col("household_id", "户号", "code", True),
            Col("visited_at", "走访时间", "ts", True),
            Col("note", "事项", "str"),
        ),
    ),
)

SOURCES: tuple[str, ...] = ("registry", "complaints", "volunteers", "sensors", "patrols")
BY_TABLE: dict[str, Entity] = {e.table: e for e in ENTITIES}

# Extra columns every raw table carries.
META_COLS = ("_file_hash", "_row", "_run_id")

# Person-identifying columns per table: they never leave the full warehouse file (SPEC §5, §8).
PII_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry__workers": ("name", "phone"),
    "registry__persons": ("name", "id_number", "phone"),
    "complaints__tickets": ("reporter_id_number",),
    "volunteers__records": ("id_number",),
    "volunteers__redemptions": ("id_number",),
}


def entity_for(source: str, filename: str) -> Entity | None:
    """Which entity a file in a source folder holds, told by its name prefix (SPEC §2)."""
    lower = filename.lower()
    for e in ENTITIES:
        if e.source != source:
            continue
        if not e.prefixes or any(lower.startswith(p) for p in e.prefixes):
            return e
    return None


def header_names(entity: Entity) -> dict[str, str]:
    """Every accepted header (Chinese, English, aliases; case-insensitive for Latin) → canonical name."""
    names: dict[str, str] = {}
    for c in entity.columns:
        for h in (c.zh, c.name, *c.aliases):
            names[h.strip().lower()] = c.name
    return names
