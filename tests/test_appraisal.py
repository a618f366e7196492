"""Grid-worker appraisal (SPEC §4) against answers worked out by hand; freeze and the Excel export (§6).

D = 2026-10-10. Cohort: W1 网格长 G1, W2 网格员 G1, W3 网格员 G2 (W4 社工 is not in it).
SLA 一般 168 h / 紧急 48 h resolution. "Handled in a quarter" = 处理人 and 办结时间 in the quarter.

    id  handler urgency reported          responded(+h)  resolved              rating
    T1  W1  一般  07-01 08:00        +2            07-03 08:00 (48 h)     满意
    T2  W1  一般  07-10 00:00        +24           07-20 00:00 (240 h)    不满意
    T3  W1  紧急  09-30 20:00        +1            10-01 01:00 (Q4)
    T4  W2  一般  08-01 00:00        +6            08-02 00:00 (24 h)     基本满意
    T5  W2  一般  09-20 00:00        —             —
    T6  W3  紧急  09-30 00:00        —             —
    T7  W2  一般  09-24 00:00        —             —     (exactly 168 h old at the Q3 end: not overdue)
    T8  W1  一般  06-01 00:00        —             10-01 00:00 (exactly the Q3 end: not resolved before it)
    T9  W3  一般  10-05 00:00        —             10-12 00:00 (after D: not handled)
    T10 W4  一般  07-02 00:00        +1            07-03 00:00            (社工: not in the cohort)

Q3 handled: W1 T1,T2 → 2, on time 1/2, satisfied 1/2, median response (2 + 24)/2 = 13 h;
            W2 T4 → 1, 1.0, 1.0, 6 h; W3 none → 0 and three missing values.
Q3 overdue (judged 10-01 00:00): W1 T8 (122 days); W2 T5 (264 h > 168), T7 is exactly 168 h → 1; W3 T6 is 24 h ≤ 48 → 0.
Q4 (current, judged at the end of D, 10-11 00:00): W1 handled T3, T8 → 2; W2 overdue T5, T7 → 2; W3 overdue T6 → 1
(T9 is 144 h old and resolved after D).

Patrols (all points at lon 121.45, so km = R × Δlat in radians, R = 6371.0088):
    W1 08-01 09:00 lat 31.2000 · 09:10 31.2010 · 09:20 31.3000 (11 km in 10 min: dropped) · 09:40 31.2020
       (30 min after the previous kept point, exactly 30 min is no split; 0.11 km from the kept 09:10 point,
       although 10.9 km from the dropped one) → session 1: 3 kept points, 0.002° = 0.22239 km, 40 min
       · 10:10:01 31.2030 (30 min 1 s: new session) · 10:20:01 31.2040 → session 2: 0.001° km, 10 min
    W2 09-30 23:50 31.1000 · 10-01 00:20 31.1010 → one Q3 session (its first point's quarter), 0.001° km, 30 min
Visits: W1 H1 ×2 and H2 in Q3 → 2; W3 H3 on 09-30 → 1; W2 H1 on 10-01 00:00 → Q4.

Q3 scores (min–max within the cohort; inverted for median response and overdue; missing → 0):
    indicator   W1     W2      W3
    handled     100    50      0
    on time     0      100     0 (missing)
    satisfied   0      100     0 (missing)
    median resp 0      100     0 (missing)       (inverted: 13 is the max)
    sessions    100    50      0
    km          100    33.33   0
    hours       100    60      0                 (0.5 of 5/6)
    visited     100    0       50
    overdue     0      0       100               (inverted)
    score       500/9  493.33/9  150/9   → ranks 1, 2, 3
"""

import math
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from conftest import make_settings
from typer.testing import CliRunner

from cockpit import queries as q
from cockpit.data import Warehouse
from pipelines.cli import app
from pipelines.demo import id_numbers
from pipelines.ingest import run_ingest
from warehouse.appraisal import load_quarter
from warehouse.metrics import APPRAISAL_INDICATORS
from warehouse.publish import connect_current

R = 6371.0088
KM_PER_DEG = R * math.pi / 180
D = date(2026, 10, 10)

TICKETS = """工单编号,来源,诉求类型,紧急程度,网格编码,处理人编号,上报时间,响应时间,办结时间,满意度
T1,12345,噪音,一般,G1,W1,2026-07-01 08:00,2026-07-01 10:00,2026-07-03 08:00,满意
T2,12345,噪音,一般,G1,W1,2026-07-10 00:00,2026-07-11 00:00,2026-07-20 00:00,不满意
T3,12345,噪音,紧急,G1,W1,2026-09-30 20:00,2026-09-30 21:00,2026-10-01 01:00,
T4,12345,噪音,一般,G1,W2,2026-08-01 00:00,2026-08-01 06:00,2026-08-02 00:00,基本满意
T5,12345,噪音,一般,G1,W2,2026-09-20 00:00,,,
T6,12345,噪音,紧急,G2,W3,2026-09-30 00:00,,,
T7,12345,噪音,一般,G1,W2,2026-09-24 00:00,,,
T8,12345,噪音,一般,G1,W1,2026-06-01 00:00,,2026-10-01 00:00,
T9,12345,噪音,一般,G2,W3,2026-10-05 00:00,,2026-10-12 00:00,
T10,12345,噪音,一般,G1,W4,2026-07-02 00:00,2026-07-02 01:00,2026-07-03 00:00,满意
"""

TRACKS = """人员编号,时间,经度,纬度
W1,2026-08-01 09:00:00,121.45,31.2000
W1,2026-08-01 09:10:00,121.45,31.2010
W1,2026-08-01 09:20:00,121.45,31.3000
W1,2026-08-01 09:40:00,121.45,31.2020
W1,2026-08-01 10:10:01,121.45,31.2030
W1,2026-08-01 10:20:01,121.45,31.2040
W2,2026-09-30 23:50:00,121.45,31.1000
W2,2026-10-01 00:20:00,121.45,31.1010
"""

VISITS = """人员编号,户号,走访时间
W1,H1,2026-07-05 10:00
W1,H1,2026-08-05 10:00
W1,H2,2026-09-05 10:00
W3,H3,2026-09-30 10:00
W2,H1,2026-10-01 00:00
"""


def write_inbox(inbox, extra_ticket: str = "") -> None:
    for d in ("registry", "complaints", "patrols"):
        (inbox / d).mkdir(parents=True, exist_ok=True)
    ids = id_numbers(
        np.array(["310101"] * 3),
        np.array(["1950-01-01", "1960-01-01", "1970-01-01"], dtype="datetime64[D]"),
        np.array([1, 3, 5]),
    )
    (inbox / "registry" / "grids.csv").write_text(
        "网格编码,网格名称,社区,街道\nG1,一网格,甲,街道\nG2,二网格,乙,街道\n", encoding="utf-8"
    )
    (inbox / "registry" / "buildings.csv").write_text(
        "楼栋编码,地址,网格编码\nB1,1号,G1\nB2,2号,G2\n", encoding="utf-8"
    )
    (inbox / "registry" / "persons.csv").write_text(
        "姓名,公民身份号码,户号,楼栋编码\n"
        + "".join(f"P{i},{n},H{i + 1},B{1 if i < 2 else 2}\n" for i, n in enumerate(ids)),
        encoding="utf-8",
    )
    (inbox / "registry" / "workers.csv").write_text(
        "人员编号,姓名,岗位,网格编码\nW1,甲,网格长,G1\nW2,乙,网格员,G1\nW3,丙,网格员,G2\nW4,丁,社工,G1\n",
        encoding="utf-8",
    )
    (inbox / "complaints" / "tickets.csv").write_text(TICKETS + extra_ticket, encoding="utf-8")
    (inbox / "patrols" / "tracks.csv").write_text(TRACKS, encoding="utf-8")
    (inbox / "patrols" / "visits.csv").write_text(VISITS, encoding="utf-8")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("appraisal")
    write_inbox(root / "inbox")
    result = run_ingest(root / "inbox", make_settings(root / "wh"), as_of=D)
    assert result.status == "published", result.errors
    return root


@pytest.fixture(scope="module")
def con(root):
    c = connect_current(root / "wh", analytics=True)
    yield c
    c.close()


def rows(con, quarter: str) -> dict[str, dict]:
    cur = con.execute("select * from mart.appraisal_quarter where quarter = ? order by worker_id", [quarter])
    names = [d[0] for d in cur.description]
    return {r[1]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_patrol_sessions_split_and_drop(con):
    got = con.execute(
        "select worker_id, quarter, points, kept_points, km, hours from mart.patrol_sessions order by started_at"
    ).fetchall()
    assert [(w, q, p, k) for w, q, p, k, _, _ in got] == [
        ("W1", "2026Q3", 4, 3),
        ("W1", "2026Q3", 2, 2),
        ("W2", "2026Q3", 2, 2),
    ]
    assert [g[4] for g in got] == pytest.approx([0.002 * KM_PER_DEG, 0.001 * KM_PER_DEG, 0.001 * KM_PER_DEG], rel=1e-6)
    assert [g[5] for g in got] == pytest.approx([40 / 60, 10 / 60, 0.5])
    dropped = con.execute("select count(*) from mart.patrol_points where lat > 31.25").fetchone()[0]
    assert dropped == 0


def test_q3_raw_indicators(con):
    q3 = rows(con, "2026Q3")
    assert sorted(q3) == ["W1", "W2", "W3"]  # W4 社工 is not in the cohort
    w1, w2, w3 = q3["W1"], q3["W2"], q3["W3"]
    assert (w1["tickets_handled"], w1["on_time_rate"], w1["satisfaction_rate"], w1["median_response_hours"]) == (
        2, 0.5, 0.5, 13.0,
    )
    assert (w2["tickets_handled"], w2["on_time_rate"], w2["satisfaction_rate"], w2["median_response_hours"]) == (
        1, 1.0, 1.0, 6.0,
    )
    assert (w3["tickets_handled"], w3["on_time_rate"], w3["satisfaction_rate"], w3["median_response_hours"]) == (
        0, None, None, None,
    )
    assert [q3[w]["patrol_sessions"] for w in ("W1", "W2", "W3")] == [2, 1, 0]
    assert [q3[w]["patrol_km"] for w in ("W1", "W2", "W3")] == pytest.approx(
        [0.003 * KM_PER_DEG, 0.001 * KM_PER_DEG, 0.0], rel=1e-6
    )
    assert [q3[w]["patrol_hours"] for w in ("W1", "W2", "W3")] == pytest.approx([5 / 6, 0.5, 0.0])
    assert [q3[w]["households_visited"] for w in ("W1", "W2", "W3")] == [2, 0, 1]
    assert [q3[w]["overdue_open"] for w in ("W1", "W2", "W3")] == [1, 1, 0]


def test_q3_scores_rank_and_frozen_flag(con):
    q3 = rows(con, "2026Q3")
    expected = {
        "W1": [100, 0, 0, 0, 100, 100, 100, 100, 0],
        "W2": [50, 100, 100, 100, 50, 100 / 3, 60, 0, 0],
        "W3": [0, 0, 0, 0, 0, 0, 0, 50, 100],
    }
    for w, scores in expected.items():
        got = [q3[w][f"{i.key}_score"] for i in APPRAISAL_INDICATORS]
        assert got == pytest.approx(scores, rel=1e-6), w
        assert q3[w]["score"] == pytest.approx(sum(scores) / 9, rel=1e-6)
        assert q3[w]["frozen"] is False
    assert [q3[w]["rank"] for w in ("W1", "W2", "W3")] == [1, 2, 3]


def test_q4_current_quarter_judged_at_the_as_of_date(con):
    q4 = rows(con, "2026Q4")
    assert [q4[w]["tickets_handled"] for w in ("W1", "W2", "W3")] == [2, 0, 0]
    assert [q4[w]["overdue_open"] for w in ("W1", "W2", "W3")] == [0, 2, 1]
    assert [q4[w]["households_visited"] for w in ("W1", "W2", "W3")] == [0, 1, 0]
    # nobody patrolled in Q4: max = min, so everyone scores 100 on the patrol indicators
    assert {q4[w]["patrol_sessions_score"] for w in q4} == {100.0}
    assert {q4[w]["patrol_km_score"] for w in q4} == {100.0}


def test_appraisal_columns_are_the_spec_columns(con):
    cols = [r[0] for r in con.execute("describe mart.appraisal_quarter").fetchall()]
    keys = [i.key for i in APPRAISAL_INDICATORS]
    assert cols == ["quarter", "worker_id", "grid_code", *keys, *(f"{k}_score" for k in keys), "score", "rank", "frozen"]


def test_drill_down_of_one_worker(root):
    """网格考核's drill-down, by hand: W1 resolved T1, T2 in Q3 (T3 and T8 were resolved on 10-01, Q4);
    two patrol sessions, the first with its 3 kept points of 4; visits H1 ×2 and H2."""
    w = Warehouse(root / "wh")
    assert q.quarter_bounds("2026Q3") == (datetime(2026, 7, 1), datetime(2026, 10, 1))
    assert q.quarter_bounds("2026Q4") == (datetime(2026, 10, 1), datetime(2027, 1, 1))
    assert q.worker_tickets(w, "W1", "2026Q3")["ticket_id"].to_list() == ["T1", "T2"]
    assert sorted(q.worker_tickets(w, "W1", "2026Q4")["ticket_id"].to_list()) == ["T3", "T8"]
    sessions = q.worker_sessions(w, "W1", "2026Q3")
    assert sessions.select("points", "kept_points").rows() == [(4, 3), (2, 2)]
    pts = q.session_points(w, "W1", sessions["session_id"][0])
    assert pts["lat"].to_list() == [31.2, 31.201, 31.202]  # the 11 km jump is not drawn
    assert sorted(q.worker_visits(w, "W1", "2026Q3")["household_id"].to_list()) == ["H1", "H1", "H2"]
    assert q.worker_visits(w, "W2", "2026Q3").height == 0  # its visit is on 10-01 00:00, Q4


def test_freeze_survives_later_publishes_and_export(root, tmp_path):
    wh = root / "wh"
    runner = CliRunner()
    bad = runner.invoke(app, ["appraisal", "--quarter", "2026Q5", "--out", str(tmp_path / "x.xlsx"), "--warehouse", str(wh)])
    assert bad.exit_code == 2 and "2026Q3" in bad.output
    empty = runner.invoke(app, ["appraisal", "--quarter", "2019Q1", "--out", str(tmp_path / "x.xlsx"), "--warehouse", str(wh)])
    assert empty.exit_code == 2 and not (tmp_path / "x.xlsx").exists()

    out = tmp_path / "q3.xlsx"
    res = runner.invoke(app, ["appraisal", "--quarter", "2026Q3", "--freeze", "--out", str(out), "--warehouse", str(wh)])
    assert res.exit_code == 0, res.output
    ranking = pl.read_excel(out, sheet_name="排名")
    assert ranking["人员编号"].to_list() == ["W1", "W2", "W3"]
    assert ranking["总分"].to_list() == pytest.approx([500 / 9, 493.333 / 9, 150 / 9], abs=0.01)
    km = pl.read_excel(out, sheet_name="巡查里程")
    assert km.columns == ["人员编号", "姓名", "网格编码", "巡查里程（原始值）", "得分", "总排名"]
    assert km["得分"].to_list() == pytest.approx([100, 33.33, 0], abs=0.01)
    weights = pl.read_excel(out, sheet_name="权重")
    assert weights["权重"].to_list() == [1.0] * 9
    info = dict(pl.read_excel(out, sheet_name="说明").iter_rows())
    assert info["数据截止日"] == "2026-10-10" and info["状态"].startswith("已冻结")

    # a later load with a new ticket for W3 and different weights: Q3 stays as frozen, Q4 changes
    write_inbox(root / "inbox", "T11,12345,噪音,一般,G2,W3,2026-08-01 00:00,2026-08-01 01:00,2026-08-01 02:00,满意\n")
    settings = make_settings(wh)
    settings.appraisal_weights = {"tickets_handled": 2.0, "overdue_open": 1.0}
    assert run_ingest(root / "inbox", settings, as_of=D).status == "published"
    with connect_current(wh) as c:
        q3, q4 = rows(c, "2026Q3"), rows(c, "2026Q4")
    assert {r["frozen"] for r in q3.values()} == {True}
    assert q3["W3"]["tickets_handled"] == 0 and q3["W1"]["score"] == pytest.approx(500 / 9)
    assert {r["frozen"] for r in q4.values()} == {False}
    # Q4 with weights 2 × handled + 1 × overdue: W1 (2·100 + 100)/3, W2 (0 + 0)/3, W3 (0 + 50)/3
    assert [q4[w]["score"] for w in ("W1", "W2", "W3")] == pytest.approx([100, 0, 50 / 3])
    assert load_quarter(wh, "2026Q3").frozen
