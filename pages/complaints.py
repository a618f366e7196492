"""诉求: the §4 rates by grid and month with their formulas, channel and category breakdowns,
SLA breaches, repeat hotspots and a drill-down to a grid-month's tickets."""

import plotly.express as px
import polars as pl
import streamlit as st

from cockpit import queries as q
from cockpit import ui
from warehouse.metrics import BY_KEY

user = ui.require("complaints")
w, s = ui.wh(), ui.scope()
st.title("诉求")

k = q.ticket_kpis(w, s)
cols = st.columns(6)
for col, key in zip(cols, ["tickets", "response_rate", "timely_response_rate", "closure_rate", "on_time_closure_rate", "satisfaction_rate"], strict=True):
    m = BY_KEY[key]
    col.metric(m.label, ui.fmt_int(k[key]) if m.unit == "" else ui.fmt_rate(k[key]), help=f"{m.description}。{m.formula}")
with st.expander("指标口径（公式）"):
    st.dataframe(
        pl.DataFrame({"指标": [m.label for m in BY_KEY.values()], "公式": [m.formula for m in BY_KEY.values()],
                      "说明": [m.description for m in BY_KEY.values()]}),
        hide_index=True,
    )

# lazy tabs: only the open one runs and is sent, so the first paint draws that tab, not the two charts
# and four tables behind tabs nobody has opened yet
t1, t2, t3, t4 = st.tabs(["网格 × 月份", "渠道与类型", "超时清单", "重复诉求热点"], key="complaints_tab", on_change="rerun")
if t1.open:
    with t1:
        gm = q.grid_month_kpis(w, s)
        shown = gm.select("grid_code", "month", "tickets", "response_rate", "timely_response_rate", "closure_rate",
                          "on_time_closure_rate", "satisfaction_rate", "median_response_hours", "p90_resolution_hours", "repeat_rate")
        ui.table(shown, "网格月度诉求指标", "complaints", height=360)
        st.markdown("##### 下钻：某网格某月的工单")
        if gm.height:
            c1, c2 = st.columns(2)
            grid = c1.selectbox("网格", sorted(gm["grid_code"].unique().to_list()), key="drill_grid")
            month = c2.selectbox("月份", sorted(gm["month"].unique().to_list(), reverse=True), format_func=lambda d: f"{d:%Y-%m}", key="drill_month")
            ui.table(q.ticket_list(w, s, grid, month), "工单清单", "complaints", height=300)
if t2.open:
    with t2:
        c1, c2 = st.columns(2)
        by_source = q.ticket_rollup(w, s, by="source")
        by_cat = q.ticket_rollup(w, s, by="category").sort("tickets", descending=True)
        with c1:
            fig = px.bar(by_source.to_pandas(), x="source", y="tickets", color="source", title="按来源渠道",
                         labels={"source": "来源", "tickets": "诉求量"})
            st.plotly_chart(ui.style(fig))
        with c2:
            fig = px.bar(by_cat.head(12).to_pandas(), x="tickets", y="category", orientation="h", title="按诉求类型（前 12）",
                         labels={"category": "类型", "tickets": "诉求量"})
            fig.update_yaxes(autorange="reversed")
            st.plotly_chart(ui.style(fig))
        rates = ["tickets", "timely_response_rate", "on_time_closure_rate", "satisfaction_rate", "repeat_rate", "avg_response_hours"]
        ui.table(by_source.select("source", *rates), "渠道指标", "complaints")
        ui.table(by_cat.select("category", *rates), "类型指标", "complaints")
if t3.open:
    with t3:
        n, breaches = q.sla_breaches(w, s)
        st.markdown(f"期间内超时（未及时响应或超时办结）工单 **{n:,}** 件，显示最近 {breaches.height} 件。")
        ui.table(breaches, "超时工单", "complaints", height=400)
if t4.open:
    with t4:
        ui.table(q.repeat_hotspots(w, s), "重复诉求热点", "complaints", height=400)
        st.caption("同一楼栋、同一类型在 30 天内再次上报即为重复诉求；统计窗口为烦恼指数窗口。")
