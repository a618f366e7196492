"""Ticket metrics of SPEC §4 against answers worked out by hand for a tiny inbox, loaded by the real ingest.

Grids G1 (社区 甲) and G2 (社区 乙); buildings B1 in G1, B2 in G2. As-of date D = 2026-03-31.
SLA: 一般 response 24 h / resolution 168 h; 紧急 2 h / 48 h; "within" is ≤.

    id  urgency  located     reported (local)       responded             resolved              rating
    T6  一般     B1 噪音      2026-02-28 10:00       +0.5 h                +24 h                 基本满意
    T7  一般     G1 绿化      2026-01-31T20:00:00Z = 2026-02-01 04:00 local (zoned, crosses the month)
    T8  一般     B2 漏水      2026-02-08 10:00       —                     —                     —
    T1  一般     B1 噪音      2026-03-01 08:00       +1 h                  +168 h exactly        满意
    T2  一般     B1 噪音      2026-03-02 08:00       +24 h 1 s (late)      —                     —
    T3  紧急     B2 漏水      2026-03-10 10:00       +2 h exactly          +48 h 1 s (late)      不满意
    T4  一般     G1 噪音      2026-03-31 23:59 (on D: counted)
    T5  一般     G1 噪音      2026-04-01 00:00:30 (after D: not counted)

Repeats ([t − 30 days, t), same building and category): T1 (T6 is 2 days before), T2 (T1), T3 (T8 is
exactly 30 days before: the window's closed end). T4 has no building: never a repeat.
"""

from datetime import date

import pytest
from conftest import make_settings

from cockpit import queries as q
from cockpit.data import Warehouse
from pipelines.ingest import run_ingest
from warehouse.metrics import BY_KEY, METRIC_SETS
from warehouse.publish import connect_current

TICKETS = """工单编号,来源,诉求类型,紧急程度,楼栋编码,网格编码,上报时间,响应时间,办结时间,满意度,更新时间
T6,你拍我办,噪音,一般,B1,,2026-02-28 10:00:00,2026-02-28 10:30:00,2026-03-01 10:00:00,基本满意,2026-03-01 10:00:00
T7,12345,绿化,一般,,G1,2026-01-31T20:00:00Z,,,,
T8,12345,漏水,一般,B2,,2026-02-08 10:00:00,,,,
T1,12345,噪音,一般,B1,,2026-03-01 08:00:00,2026-03-01 09:00:00,2026-03-08 08:00:00,满意,2026-03-08 08:00:00
T2,网格巡查,噪音,一般,B1,,2026-03-02 08:00:00,2026-03-03 08:00:01,,,
T3,数字吹哨,漏水,紧急,B2,,2026-03-10 10:00:00,2026-03-10 12:00:00,2026-03-12 10:00:01,不满意,2026-03-12 10:00:01
T4,12345,噪音,一般,,G1,2026-03-31 23:59:00,,,,
T5,12345,噪音,一般,,G1,2026-04-01 00:00:30,,,,
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    inbox = root / "inbox"
    (inbox / "registry").mkdir(parents=True)
    (inbox / "complaints").mkdir()
    (inbox / "registry" / "grids.csv").write_text(
        "网格编码,网格名称,社区,街道\nG1,一网格,甲,瑞金二路街道\nG2,二网格,乙,瑞金二路街道\n",
        encoding="utf-8",
    )
    (inbox / "registry" / "buildings.csv").write_text(
        "楼栋编码,地址,网格编码\nB1,甲小区1号,G1\nB2,乙小区2号,G2\n", encoding="utf-8"
    )
    (inbox / "complaints" / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    result = run_ingest(inbox, make_settings(root / "wh"), as_of=date(2026, 3, 31))
    assert result.status == "published"
    return root / "wh"


@pytest.fixture(scope="module")
def con(root):
    c = connect_current(root, analytics=True)
    yield c
    c.close()


def cell(con, grid, month):
    cols = [m.key for m in METRIC_SETS["ticket"]]
    row = con.execute(
        f"select {', '.join(cols)} from mart.kpi_grid_month where grid_code = ? and month = ?", [grid, month]
    ).fetchone()
    return dict(zip(cols, row, strict=True))


def test_ticket_facts(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticket_id, grid_code, community, month, quarter, response_hours, resolution_hours, "
            "responded_on_time, resolved_on_time, satisfied, is_repeat from mart.ticket_facts"
        ).fetchall()
    }
    assert set(rows) == {"T1", "T2", "T3", "T4", "T6", "T7", "T8"}  # T5 is after the as-of date
    assert rows["T1"] == ("G1", "甲", date(2026, 3, 1), "2026Q1", 1.0, 168.0, True, True, True, True)
    assert rows["T2"][4:] == (24 + 1 / 3600, None, False, False, None, True)
    assert rows["T3"][1:] == ("乙", date(2026, 3, 1), "2026Q1", 2.0, 48 + 1 / 3600, True, False, False, True)
    assert rows["T4"][0:3] == ("G1", "甲", date(2026, 3, 1)) and rows["T4"][-1] is False
    assert rows["T7"][0:3] == ("G1", "甲", date(2026, 2, 1))  # 2026-01-31 20:00 UTC is February in Shanghai
    assert rows["T6"][-1] is False and rows["T8"][-1] is False


def test_grid_month_g1_march(con):
    assert cell(con, "G1", date(2026, 3, 1)) == pytest.approx(
        {
            "tickets": 3,
            "responded": 2,
            "responded_on_time": 1,
            "resolved": 1,
            "resolved_on_time": 1,
            "rated": 1,
            "satisfied": 1,
            "response_rate": 2 / 3,
            "timely_response_rate": 1 / 3,
            "closure_rate": 1 / 3,
            "on_time_closure_rate": 1 / 3,
            "satisfaction_rate": 1.0,
            "median_response_hours": (1 + 24 + 1 / 3600) / 2,  # continuous median of two values
            "p90_resolution_hours": 168.0,
            "repeat_rate": 2 / 3,
        }
    )


def test_grid_month_g1_february(con):
    assert cell(con, "G1", date(2026, 2, 1)) == pytest.approx(
        {
            "tickets": 2,
            "responded": 1,
            "responded_on_time": 1,
            "resolved": 1,
            "resolved_on_time": 1,
            "rated": 1,
            "satisfied": 1,
            "response_rate": 0.5,
            "timely_response_rate": 0.5,
            "closure_rate": 0.5,
            "on_time_closure_rate": 0.5,
            "satisfaction_rate": 1.0,
            "median_response_hours": 0.5,
            "p90_resolution_hours": 24.0,
            "repeat_rate": 0.0,
        }
    )


def test_grid_month_g2(con):
    march = cell(con, "G2", date(2026, 3, 1))
    assert march == pytest.approx(
        {
            "tickets": 1,
            "responded": 1,
            "responded_on_time": 1,
            "resolved": 1,
            "resolved_on_time": 0,
            "rated": 1,
            "satisfied": 0,
            "response_rate": 1.0,
            "timely_response_rate": 1.0,
            "closure_rate": 1.0,
            "on_time_closure_rate": 0.0,
            "satisfaction_rate": 0.0,
            "median_response_hours": 2.0,
            "p90_resolution_hours": 48 + 1 / 3600,
            "repeat_rate": 1.0,
        }
    )
    feb = cell(con, "G2", date(2026, 2, 1))
    assert feb["tickets"] == 1 and feb["responded"] == 0 and feb["response_rate"] == 0.0
    assert (
        feb["satisfaction_rate"] is None and feb["median_response_hours"] is None
    )  # nothing rated / responded


def test_p90_is_a_continuous_quantile(con):
    # G1 over the whole quarter: resolution hours [24, 168] → 24 + 0.9 × (168 − 24) = 153.6
    v = con.execute(
        f"select {BY_KEY['p90_resolution_hours'].sql} from mart.ticket_facts where grid_code = 'G1' and quarter = '2026Q1'"
    ).fetchone()[0]
    assert v == pytest.approx(153.6)


def test_rollup_uses_the_same_definitions(con):
    # the street as a whole, March: T1..T4 → responded 3/4; rated T1, T3 → satisfied 1/2; rating rate rated/resolved = 2/2
    sql = ", ".join(
        BY_KEY[k].sql for k in ("response_rate", "satisfaction_rate", "rating_rate", "repeat_rate")
    )
    got = con.execute(f"select {sql} from mart.ticket_facts where month = date '2026-03-01'").fetchone()
    assert got == pytest.approx((3 / 4, 1 / 2, 1.0, 3 / 4))


def test_kpi_grid_month_has_exactly_the_spec_columns(con):
    cols = [r[0] for r in con.execute("describe mart.kpi_grid_month").fetchall()]
    assert cols == [
        "grid_code",
        "month",
        "tickets",
        "responded",
        "responded_on_time",
        "resolved",
        "resolved_on_time",
        "rated",
        "satisfied",
        "response_rate",
        "timely_response_rate",
        "closure_rate",
        "on_time_closure_rate",
        "satisfaction_rate",
        "median_response_hours",
        "p90_resolution_hours",
        "repeat_rate",
    ]
    cols = [r[0] for r in con.execute("describe mart.ticket_facts").fetchall()]
    assert cols == [
        "ticket_id",
        "source",
        "category",
        "urgency",
        "building_code",
        "grid_code",
        "community",
        "handler_id",
        "reported_at",
        "resolved_at",
        "month",
        "quarter",
        "response_hours",
        "resolution_hours",
        "responded_on_time",
        "resolved_on_time",
        "satisfied",
        "is_repeat",
    ]


def test_every_metric_has_label_formula_and_sql():
    for m in BY_KEY.values():
        assert m.label and m.description and m.formula and m.sql


def test_sla_breaches(root):
    """Missed an SLA = not responded on time, or resolved late. March: T2 (late response), T3 (resolved
    48 h 1 s after), T4 (no response); not T1 (168 h exactly). February: T7, T8 (no response); not T6."""
    w = Warehouse(root)
    march = q.Scope(date(2026, 3, 1), date(2026, 3, 1))
    n, rows = q.sla_breaches(w, march)
    assert (n, rows["ticket_id"].to_list()) == (3, ["T4", "T3", "T2"])  # newest first
    n, rows = q.sla_breaches(w, q.Scope(date(2026, 2, 1), date(2026, 3, 1)), limit=4)
    assert (n, rows["ticket_id"].to_list()) == (5, ["T4", "T3", "T2", "T8"])
    assert q.sla_breaches(w, q.Scope(date(2026, 3, 1), date(2026, 3, 1), pinned_grid="G1"))[0] == 2
    assert q.ticket_rollup(w, q.Scope(communities=("乙",)))["sla_breaches"].to_list() == [2]  # T3, T8


def test_repeats_count_tickets_at_the_same_moment_as_not_earlier():
    """int_tickets_repeated by hand on its own, with a tie: T1 and T2 came in at the same moment (neither
    is earlier than the other), T3 a day later has both before it, T0 is 61 days before: out of window."""
    from pathlib import Path

    import duckdb

    from warehouse.build import render

    con = duckdb.connect()
    con.execute("create schema intermediate; create schema meta")
    con.execute("create table meta.params as select 30 as repeat_window_days")
    con.execute(
        """create table intermediate.int_tickets_timed as select * from (values
        ('T0', 'B1', '噪音', timestamp '2025-11-01 10:00'),
        ('T1', 'B1', '噪音', timestamp '2026-01-01 10:00'),
        ('T2', 'B1', '噪音', timestamp '2026-01-01 10:00'),
        ('T3', 'B1', '噪音', timestamp '2026-01-02 09:00'),
        ('T4', 'B1', '漏水', timestamp '2026-01-02 09:00'),
        ('T5', null, '噪音', timestamp '2026-01-02 09:00')) v(ticket_id, building_code, category, reported_at)"""
    )
    sql = render(Path(__file__).parents[1] / "warehouse" / "models" / "intermediate" / "int_tickets_repeated.sql")
    got = sorted(con.execute(sql).fetchall())
    assert got == [("T0", 0, False), ("T1", 0, False), ("T2", 0, False), ("T3", 2, True), ("T4", 0, False), ("T5", 0, False)]
