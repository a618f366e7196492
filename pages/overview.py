"""总览: population and key groups, the ticket KPIs with change against the previous period, volunteer
points, devices and alarms, trends, and each source's freshness and quality."""

import plotly.express as px
import polars as pl
import streamlit as st

from cockpit import queries as q
from cockpit import ui
from warehouse.metrics import BY_KEY

user = ui.require("overview")
w, s = ui.wh(), ui.scope()
prev = s.previous()
st.title("总览")
st.markdown(
    f"<div class='cockpit-banner'>期间 {s.month_from:%Y-%m} 至 {s.month_to:%Y-%m}，与前 {(s.month_to.year - s.month_from.year) * 12 + s.month_to.month - s.month_from.month + 1} 个月比较</div>"
    if s.month_from else "",
    unsafe_allow_html=True,
)

pop = q.population(w, s)
c = st.columns(7)
c[0].metric("实有人口", ui.fmt_int(pop["residents"]))
c[1].metric("户数", ui.fmt_int(pop["households"]))
c[2].metric("楼栋", ui.fmt_int(pop["buildings"]))
c[3].metric("网格", ui.fmt_int(pop["grids"]))
c[4].metric("独居老人", ui.fmt_int(pop["elderly_alone"]))
c[5].metric("残疾人", ui.fmt_int(pop["disabled"]))
c[6].metric("80岁以上", ui.fmt_int(pop["over_80"]))

k, kp = q.ticket_kpis(w, s), q.ticket_kpis(w, prev)
c = st.columns(5)
c[0].metric("诉求量", ui.fmt_int(k["tickets"]), ui.delta_count(k["tickets"], kp["tickets"]), delta_color="off",
            help=BY_KEY["tickets"].formula)
for col, key in zip(c[1:], ["timely_response_rate", "on_time_closure_rate", "satisfaction_rate", "closure_rate"], strict=True):
    col.metric(BY_KEY[key].label, ui.fmt_rate(k[key]), **ui.rate_delta(k[key], kp[key]), help=BY_KEY[key].formula)

v, vp = q.volunteer_totals(w, s), q.volunteer_totals(w, prev)
d = q.device_totals(w, s)
c = st.columns(5)
c[0].metric("志愿积分（获得）", ui.fmt_int(v["points_earned"]), ui.delta_count(v["points_earned"], vp["points_earned"]), delta_color="off")
c[1].metric("志愿积分（兑换）", ui.fmt_int(v["points_redeemed"]), ui.delta_count(v["points_redeemed"], vp["points_redeemed"]), delta_color="off")
c[2].metric(f"设备在线（共 {ui.fmt_int(d['devices'])} 台）", ui.fmt_int(d["online"]), help="数据截止日末之前 24 小时内有任何事件")
c[3].metric("近30天告警", ui.fmt_int(d["alarms_30d"]), help="有效 + 误报 + 未处置")
c[4].metric("近30天有效告警", ui.fmt_int(d["effective_30d"]))

left, right = st.columns(2)
trend = q.area_month_kpis(w, s)
with left:
    if trend.height:
        fig = px.bar(trend.to_pandas(), x="month", y="tickets", title="诉求量（按月）", labels={"month": "月份", "tickets": "诉求量"})
        st.plotly_chart(ui.style(ui.date_axis(fig)))
with right:
    if trend.height:
        long = trend.select("month", "timely_response_rate", "on_time_closure_rate", "satisfaction_rate").unpivot(
            index="month", variable_name="指标", value_name="值"
        ).with_columns(pl.col("指标").replace({k2: BY_KEY[k2].label for k2 in BY_KEY}))
        fig = px.line(long.to_pandas(), x="month", y="值", color="指标", markers=True, title="三率趋势",
                      labels={"month": "月份"})
        fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
        st.plotly_chart(ui.style(ui.date_axis(fig)))

st.subheader("数据新鲜度与质量")
fresh = q.freshness(w)
ui.table(fresh, "数据源状态", "overview")
