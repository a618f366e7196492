"""网格考核: the quarter's leaderboard with every score decomposed, a worker's drill-down (tickets,
patrol sessions on a map, visits), freezing and the Excel export for reviewers."""

import dataclasses
import tempfile
from pathlib import Path

import plotly.express as px
import polars as pl
import pydeck as pdk
import streamlit as st

from cockpit import queries as q
from cockpit import ui
from warehouse.appraisal import (
    AppraisalError,
    export_xlsx,
    freeze,
    frozen_quarters,
    load_quarter,
    ranking_frame,
)
from warehouse.metrics import APPRAISAL_INDICATORS, SCORE_FORMULA

user = ui.require("appraisal")
w = ui.wh()
root = ui.settings().warehouse
st.title("网格考核")

quarters = sorted(
    {r[0] for r in w.rows("select distinct quarter from mart.appraisal_quarter")} | set(frozen_quarters(root)), reverse=True
)
if not quarters:
    st.info("暂无考核数据。")
    st.stop()
quarter = st.selectbox("季度", quarters, key="appraisal_quarter")
try:
    qd = load_quarter(root, quarter, con=w.connection().cursor())
except AppraisalError as e:
    st.warning(str(e))
    st.stop()

rows = qd.rows
if user.role == "grid_worker":  # a grid worker sees their own appraisal only
    rows = rows.filter(pl.col("worker_id") == user.username) if user.username in rows["worker_id"] else rows.filter(
        pl.col("grid_code") == user.grid_code
    )
else:  # the sidebar's community / grid filters narrow the leaderboard (ranks stay the cohort's)
    s = ui.scope()
    if s.grids:
        rows = rows.filter(pl.col("grid_code").is_in(list(s.grids)))
    elif s.communities:
        in_c = w.frame("select grid_code from mart.grid_profile where community in (select unnest(?))", [list(s.communities)])
        rows = rows.filter(pl.col("grid_code").is_in(in_c["grid_code"].to_list()))
if rows.is_empty():
    st.info("所选范围内没有考核对象。")
    st.stop()
state = f"🔒 已冻结（{qd.frozen_at}，{qd.frozen_by}）" if qd.frozen else "未冻结：后续数据更新会改变结果"
st.markdown(f"<div class='cockpit-banner'>{quarter} · 数据截止 {qd.as_of} · {rows.height} 人 · {state}</div>", unsafe_allow_html=True)
st.caption(SCORE_FORMULA)

# lazy tabs: the stacked score chart (the slowest element of this page to draw, ≈0.5 s in the
# browser) is drawn when its tab is opened; the ranking table is what a review starts from
v1, v2 = st.tabs(["排名表", "得分构成"], key="ranking_view", on_change="rerun")
if v1.open:
    with v1:
        view = ranking_frame(dataclasses.replace(qd, rows=rows))  # the Excel export's values; shown in % and to 0.1
        view, config = ui.display_config(
            view,
            rates=[i.label for i in APPRAISAL_INDICATORS if i.unit == "rate"],
            one_decimal=[i.label for i in APPRAISAL_INDICATORS if i.unit in ("hours", "km")],
        )
        st.dataframe(view, hide_index=True, height=380, column_config=config)
if v2.open:
    with v2:
        weights = qd.weights or {}
        TOP = 40  # a district cohort has ~1,800 workers: a readable chart shows the top of the ranking
        if rows.height > TOP:
            st.caption(f"图中为排名前 {TOP} 位（共 {rows.height} 人）；每人的全部得分见「排名表」与下方个人下钻。")
        parts = rows.sort("rank").head(TOP).select(
            "worker_id", *[(pl.col(f"{i.key}_score") * weights.get(i.key, 0) / max(sum(weights.values()), 1e-9)).alias(i.label) for i in APPRAISAL_INDICATORS]
        ).unpivot(index="worker_id", variable_name="指标", value_name="加权得分")
        fig = px.bar(parts.to_pandas(), x="worker_id", y="加权得分", color="指标", title="每人总分 = 各指标加权得分之和",
                     labels={"worker_id": "人员编号"})
        # the IDs on the axis are set at a slant: the legend goes lower than usual, or the axis title runs into it
        st.plotly_chart(ui.style(fig, 420).update_layout(legend={"y": -0.42, "title": None}))

if user.role in ("reviewer", "admin"):
    c1, c2, _ = st.columns([1, 1, 4])

    def workbook(qd=qd) -> bytes:  # made when clicked (≈2.4 s for 1,800 workers), not on every render
        with tempfile.TemporaryDirectory() as tmp:
            return export_xlsx(qd, Path(tmp) / f"appraisal_{quarter}.xlsx").read_bytes()

    c1.download_button("导出考核 Excel", workbook, f"网格考核_{quarter}.xlsx", key="appraisal_xlsx",
                       on_click=ui.audit, args=("export_appraisal", "appraisal", {"quarter": quarter}, rows.height))
    if not qd.frozen and c2.button("冻结本季度", type="primary", key="freeze"):
        freeze(root, quarter, by=user.username)
        ui.audit("freeze_appraisal", "appraisal", {"quarter": quarter}, rows.height)
        st.rerun()

st.subheader("个人下钻")
options = rows["worker_id"].to_list()
names = dict(zip(rows["worker_id"], rows["worker_name"], strict=True))
worker = st.selectbox("网格员", options, format_func=lambda x: f"{x} {names.get(x) or ''}", key="drill_worker")
one = rows.filter(pl.col("worker_id") == worker).row(0, named=True)
cols = st.columns(len(APPRAISAL_INDICATORS))
for col, i in zip(cols, APPRAISAL_INDICATORS, strict=True):
    v = one[i.key]
    shown = "—" if v is None else (f"{v * 100:.1f}%" if i.unit == "rate" else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}")
    col.metric(i.label, shown, f"得分 {one[f'{i.key}_score']:.1f}", delta_color="off", help=i.description)

# lazy tabs: only the open one runs, so the track map (a WebGL canvas, the slowest element to draw)
# is drawn when its tab is opened, not on every view of the leaderboard
t1, t2, t3 = st.tabs(["办结工单", "巡查轨迹", "入户走访"], key="drill_tab", on_change="rerun")
if t1.open:
    with t1:
        ui.table(q.worker_tickets(w, worker, quarter), f"办结工单_{worker}", "appraisal", height=300)
if t2.open:
    with t2:
        sessions = q.worker_sessions(w, worker, quarter)
        ui.table(sessions, f"巡查段_{worker}", "appraisal", height=240)
        if sessions.height:
            pick = st.selectbox("在地图上显示巡查段", sessions["session_id"].to_list()[::-1], key="session_pick")
            pts = q.session_points(w, worker, pick)
            path = [{"path": pts.select("lon", "lat").rows(), "name": pick}]
            grid = q.grid_boundary(w, one["grid_code"])
            layers = [pdk.Layer("PathLayer", path, get_path="path", get_color=[34, 211, 238], width_min_pixels=3)]
            if grid.height and grid["boundary"][0]:
                from shapely import wkt

                poly = wkt.loads(grid["boundary"][0])
                rings = [list(g.exterior.coords) for g in getattr(poly, "geoms", [poly])]
                layers.insert(0, pdk.Layer("PolygonLayer", [{"polygon": r} for r in rings], get_polygon="polygon",
                                           get_fill_color=[30, 64, 110, 80], get_line_color=[150, 180, 220], line_width_min_pixels=1))
            view_state = pdk.ViewState(longitude=float(pts["lon"].mean()), latitude=float(pts["lat"].mean()), zoom=15)
            st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view_state, map_style=None), height=380)
if t3.open:
    with t3:
        ui.table(q.worker_visits(w, worker, quarter), f"入户走访_{worker}", "appraisal", height=300)
