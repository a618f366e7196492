"""Every KPI of SPEC §4, defined once: Chinese label, one-line description, formula text, SQL.

Ticket metrics are aggregate SQL over ``mart.ticket_facts`` rows, so the same expression gives a
grid-month cell of ``mart.kpi_grid_month`` (where the models splice them in through
``/* metrics:ticket */``) and any roll-up a page or export makes (community, street, quarter).
Rates are fractions in [0, 1], null where their denominator is 0 (``nullif``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # column name in the marts
    label: str  # 中文名称, shown on the pages
    description: str
    formula: str  # shown next to the KPI
    sql: str  # aggregate SQL over mart.ticket_facts
    unit: str = ""  # "" count, "rate" fraction in [0, 1], "hours"


def _count(cond: str) -> str:
    return f"sum(case when {cond} then 1 else 0 end)"


TICKET_METRICS: tuple[Metric, ...] = (
    Metric("tickets", "诉求量", "上报时间在期间内的工单数（每单取最新版本）", "诉求量 = 工单数", "count(*)"),
    Metric("responded", "已响应", "有响应时间的工单数", "已响应 = 有响应时间的工单", "count(response_hours)"),
    Metric(
        "responded_on_time",
        "及时响应",
        "响应时长不超过响应时限的工单数",
        "响应时长 ≤ 时限（一般 24h / 紧急 2h）",
        _count("responded_on_time"),
    ),
    Metric(
        "resolved", "已办结", "有办结时间的工单数", "已办结 = 有办结时间的工单", "count(resolution_hours)"
    ),
    Metric(
        "resolved_on_time",
        "按时办结",
        "办结时长不超过办结时限的工单数",
        "办结时长 ≤ 时限（一般 168h / 紧急 48h）",
        _count("resolved_on_time"),
    ),
    Metric(
        "rated", "已评价", "有满意度评价的工单数", "已评价 = 满意 + 基本满意 + 不满意", "count(satisfied)"
    ),
    Metric("satisfied", "满意", "评价为满意或基本满意的工单数", "满意 + 基本满意", _count("satisfied")),
    Metric(
        "response_rate",
        "响应率",
        "已响应工单占诉求量的比例",
        "响应率 = 已响应 / 诉求量",
        "count(response_hours) / nullif(count(*), 0)",
        "rate",
    ),
    Metric(
        "timely_response_rate",
        "及时响应率",
        "在时限内响应的工单占诉求量的比例",
        "及时响应率 = 及时响应 / 诉求量",
        f"{_count('responded_on_time')} / nullif(count(*), 0)",
        "rate",
    ),
    Metric(
        "closure_rate",
        "办结率",
        "已办结工单占诉求量的比例",
        "办结率 = 已办结 / 诉求量",
        "count(resolution_hours) / nullif(count(*), 0)",
        "rate",
    ),
    Metric(
        "on_time_closure_rate",
        "按时办结率",
        "在时限内办结的工单占诉求量的比例",
        "按时办结率 = 按时办结 / 诉求量",
        f"{_count('resolved_on_time')} / nullif(count(*), 0)",
        "rate",
    ),
    Metric(
        "satisfaction_rate",
        "满意率",
        "满意与基本满意占已评价工单的比例（无人评价时为空）",
        "满意率 = (满意 + 基本满意) / 已评价",
        f"{_count('satisfied')} / nullif(count(satisfied), 0)",
        "rate",
    ),
    Metric(
        "median_response_hours",
        "响应时长中位数",
        "已响应工单的响应时长（小时）中位数",
        "median(响应时间 − 上报时间)，连续分位数",
        "quantile_cont(response_hours, 0.5)",
        "hours",
    ),
    Metric(
        "p90_resolution_hours",
        "办结时长P90",
        "已办结工单的办结时长（小时）第 90 百分位",
        "p90(办结时间 − 上报时间)，连续分位数",
        "quantile_cont(resolution_hours, 0.9)",
        "hours",
    ),
    Metric(
        "repeat_rate",
        "重复诉求率",
        "同一楼栋同类诉求 30 天内再次上报的工单占诉求量的比例",
        "重复诉求率 = 前 30 天内 [t − 30 天, t) 同楼栋同类别已有工单的工单 / 诉求量",
        f"{_count('is_repeat')} / nullif(count(*), 0)",
        "rate",
    ),
)

# Roll-up only (not a column of mart.kpi_grid_month, whose columns SPEC §5 fixes).
TICKET_ROLLUP_METRICS: tuple[Metric, ...] = (
    Metric(
        "rating_rate",
        "参评率",
        "已评价工单占已办结工单的比例",
        "参评率 = 已评价 / 已办结",
        "count(satisfied) / nullif(count(resolution_hours), 0)",
        "rate",
    ),
)

# A ticket that missed an SLA: not responded on time, or resolved but not on time (the 诉求 page's list).
SLA_BREACH = "not responded_on_time or (resolution_hours is not null and not resolved_on_time)"

# The additive counts: summed over any slice of mart.ticket_cube_month, they give every rate of a roll-up.
TICKET_COUNTS: tuple[Metric, ...] = tuple(m for m in TICKET_METRICS if m.unit == "") + (
    Metric("repeats", "重复诉求", "前 30 天内同楼栋同类别已有工单的工单数", "重复诉求 = is_repeat 的工单", _count("is_repeat")),
    Metric(
        "sla_breaches", "超时工单", "未按时响应，或已办结但未按时办结的工单数",
        "超时工单 = 未按时响应 或 (已办结 且 未按时办结)", _count(SLA_BREACH),
    ),
)

METRIC_SETS = {"ticket": TICKET_METRICS, "ticket_rollup": TICKET_ROLLUP_METRICS, "ticket_counts": TICKET_COUNTS}
BY_KEY = {m.key: m for ms in METRIC_SETS.values() for m in ms}


def metric_columns(name: str) -> str:
    """``<sql> as <key>`` for each metric of a set, for a model's select list."""
    return ",\n    ".join(f"{m.sql} as {m.key}" for m in METRIC_SETS[name])


@dataclass(frozen=True)
class Indicator:
    """One indicator of the quarterly grid-worker appraisal (SPEC §4), scored 0–100 within the cohort."""

    key: str  # raw value column of mart.appraisal_quarter; its score is <key>_score
    label: str
    description: str
    unit: str = ""
    inverted: bool = False  # lower is better


APPRAISAL_INDICATORS: tuple[Indicator, ...] = (
    Indicator("tickets_handled", "办结工单数", "处理人为本人、办结时间在本季度内的工单数"),
    Indicator("on_time_rate", "按时办结率", "本人办结工单中在办结时限内办结的比例", "rate"),
    Indicator("satisfaction_rate", "满意率", "本人办结工单中满意与基本满意占已评价的比例", "rate"),
    Indicator(
        "median_response_hours", "响应时长中位数", "本人办结工单的响应时长（小时）中位数，越短越好", "hours", True
    ),
    Indicator("patrol_sessions", "巡查次数", "首个有效轨迹点在本季度内的巡查段数（间隔超过 30 分钟即分段）"),
    Indicator("patrol_km", "巡查里程", "巡查段内相邻有效轨迹点的球面距离之和（公里）", "km"),
    Indicator("patrol_hours", "巡查时长", "各巡查段首末有效轨迹点的时间差之和（小时）", "hours"),
    Indicator("households_visited", "走访户数", "本季度内入户走访的不同户数"),
    Indicator(
        "overdue_open", "超期未办结", "季度末（或数据截止日）仍未办结且已超过办结时限的本人工单数，越少越好",
        inverted=True,
    ),
)
APPRAISAL_KEYS = tuple(i.key for i in APPRAISAL_INDICATORS)

SCORE_FORMULA = (
    "指标得分 = 100 × (值 − 最小值) / (最大值 − 最小值)（越少越好的指标取 100 × (最大值 − 值) / (最大值 − 最小值)）；"
    "最大值 = 最小值时均为 100；缺失为 0。总分 = Σ 权重 × 指标得分 / Σ 权重"
)


def appraisal_scores() -> str:
    """Select-list SQL over a relation with the raw indicators and ``quarter``: each ``<key>_score``,
    min–max within the quarter's cohort (SPEC §4)."""
    parts = []
    for i in APPRAISAL_INDICATORS:
        lo = f"min({i.key}) over (partition by quarter)"
        hi = f"max({i.key}) over (partition by quarter)"
        num = f"({hi} - {i.key})" if i.inverted else f"({i.key} - {lo})"
        parts.append(
            f"case when {i.key} is null then 0.0 when {hi} = {lo} then 100.0 "
            # clamped: a parallel float sum may differ from its window max in the last bit
            f"else least(100.0, greatest(0.0, 100.0 * {num} / ({hi} - {lo}))) end as {i.key}_score"
        )
    return ",\n    ".join(parts)


def appraisal_weights() -> str:
    """Select list pivoting ``meta.appraisal_weights`` into one row: ``w_<key>`` per indicator."""
    return ",\n    ".join(
        f"coalesce(max(case when indicator = '{k}' then weight end), 0.0) as w_{k}" for k in APPRAISAL_KEYS
    )


def appraisal_score() -> str:
    """SQL for the weighted mean of the ``<key>_score`` columns, weights ``w_<key>``."""
    terms = " + ".join(f"w_{k} * {k}_score" for k in APPRAISAL_KEYS)
    total = " + ".join(f"w_{k}" for k in APPRAISAL_KEYS)
    return f"({terms}) / nullif({total}, 0)"


# Each rate of TICKET_METRICS again, over the additive counts of mart.ticket_cube_month (a roll-up of
# any slice: period, community, grids, channel). A test checks both forms agree on every grid-month.
RATES_FROM_COUNTS: dict[str, str] = {
    "response_rate": "sum(responded) / nullif(sum(tickets), 0)",
    "timely_response_rate": "sum(responded_on_time) / nullif(sum(tickets), 0)",
    "closure_rate": "sum(resolved) / nullif(sum(tickets), 0)",
    "on_time_closure_rate": "sum(resolved_on_time) / nullif(sum(tickets), 0)",
    "satisfaction_rate": "sum(satisfied) / nullif(sum(rated), 0)",
    "repeat_rate": "sum(repeats) / nullif(sum(tickets), 0)",
    "rating_rate": "sum(rated) / nullif(sum(resolved), 0)",
}
def rollup_columns() -> str:
    """Counts and rates of a roll-up over ``mart.ticket_cube_month`` rows."""
    counts = [f"sum({m.key}) as {m.key}" for m in TICKET_COUNTS]
    rates = [f"{sql} as {k}" for k, sql in RATES_FROM_COUNTS.items()]
    mean = "sum(response_hours_sum) / nullif(sum(responded), 0) as avg_response_hours"
    return ", ".join(counts + rates + [mean])


PLACEHOLDERS = {
    "appraisal:scores": appraisal_scores,
    "appraisal:weights": appraisal_weights,
    "appraisal:score": appraisal_score,
}
