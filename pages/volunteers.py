"""志愿积分: points earned and redeemed by month, balances, 微星光 top volunteers, activities by type,
participation rate, overdrawn redemptions."""

import plotly.express as px
import streamlit as st

from cockpit import queries as q
from cockpit import ui

user = ui.require("volunteers")
w, s = ui.wh(), ui.scope()
st.title("志愿积分")

summary = q.volunteer_summary(w, s)
c = st.columns(5)
c[0].metric("志愿者", ui.fmt_int(summary["volunteers"]))
c[1].metric("其中辖区居民", ui.fmt_int(summary["in_registry"]))
c[2].metric("参与率", ui.fmt_rate(summary["participation_rate"]),
            help="近 12 个月有志愿记录的辖区居民 / 成年居民（" + {"street": "全街道", "community": "所选社区", "grid": "所选网格"}[summary["level"]] + "）")
c[3].metric("积分余额合计", ui.fmt_int(summary["balance"]))
c[4].metric("透支兑换", ui.fmt_int(summary["overdrawn"]), help="兑换时余额不足的兑换次数（已保留并标记）")

months = q.volunteer_months(w, s)
if months.height:
    long = months.select("month", "points_earned", "points_redeemed").rename(
        {"points_earned": "获得积分", "points_redeemed": "兑换积分"}
    ).unpivot(index="month", variable_name="类型", value_name="积分")
    fig = px.bar(long.to_pandas(), x="month", y="积分", color="类型", barmode="group", title="积分获得与兑换（按月）",
                 labels={"month": "月份"})
    st.plotly_chart(ui.style(ui.date_axis(fig)))

left, right = st.columns(2)
with left:
    st.subheader("微星光 · 志愿之星")
    ui.table(q.volunteer_top(w, s), "志愿之星", "volunteers", height=360)
with right:
    st.subheader("活动类型")
    types = q.volunteer_types(w)
    if types.height:
        fig = px.pie(types.to_pandas(), names="activity_type", values="records", hole=0.5, title="签到记录按活动类型")
        st.plotly_chart(ui.style(fig, 360))
ui.table(types, "活动类型统计", "volunteers")
st.subheader("透支兑换")
ui.table(q.overdrawn(w), "透支兑换", "volunteers", height=300)
