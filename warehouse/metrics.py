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

METRIC_SETS = {"ticket": TICKET_METRICS, "ticket_rollup": TICKET_ROLLUP_METRICS}
BY_KEY = {m.key: m for ms in METRIC_SETS.values() for m in ms}


def metric_columns(name: str) -> str:
    """``<sql> as <key>`` for each metric of a set, for a model's select list."""
    return ",\n    ".join(f"{m.sql} as {m.key}" for m in METRIC_SETS[name])
