"""物联感知: alarms by type, grid and day, 有效 vs 误报, devices online, the 数字吹哨 alarm → ticket response,
and care alerts (独居老人 households whose water meter stopped) for grid workers."""

import plotly.express as px
import polars as pl
import streamlit as st

from cockpit import queries as q
from cockpit import ui
from cockpit.auth import UNMASKED

user = ui.require("sensors")
w, s = ui.wh(), ui.scope()
st.title("物联感知")

d = q.device_totals(w, s)
# one figure per card: "有效 / 误报" in one card was cut off at district scale ("18,116 / 4…")
c = st.columns(6)
c[0].metric("设备", ui.fmt_int(d["devices"]))
c[1].metric("在线", ui.fmt_int(d["online"]), help="数据截止日末之前 24 小时内有任何事件")
c[2].metric("近30天告警", ui.fmt_int(d["alarms_30d"]), help="有效 + 误报 + 未处置")
c[3].metric("其中有效", ui.fmt_int(d["effective_30d"]))
c[4].metric("其中误报", ui.fmt_int(d["false_alarms_30d"]))
c[5].metric("近30天故障", ui.fmt_int(d["faults_30d"]))

st.subheader("独居老人用水关爱提醒")
unmasked = UNMASKED.get(user.role, set())
care = ui.mask_frame(q.care_alerts(w, s, unmasked), unmasked)
if care.height:
    st.warning(f"{care['household_id'].n_unique()} 户独居老人家庭的水表已 24 小时以上没有用水，请尽快上门或电话确认。")
ui.table(care, "用水关爱提醒", "sensors", person_level=True, height=260)

daily = q.alarms_daily(w, s)
left, right = st.columns(2)
with left:
    if daily.height:
        fig = px.bar(daily.to_pandas(), x="day", y="alarms", color="device_type", title="每日告警（按设备类型）",
                     labels={"day": "日期", "alarms": "告警", "device_type": "设备类型"})
        st.plotly_chart(ui.style(ui.date_axis(fig, by="day")))
with right:
    if daily.height:
        tot = daily.select(pl.sum("effective").alias("有效"), pl.sum("false_alarms").alias("误报"),
                           (pl.sum("alarms") - pl.sum("effective") - pl.sum("false_alarms")).alias("未处置"))
        long = tot.unpivot(variable_name="处置结果", value_name="告警数")
        fig = px.pie(long.to_pandas(), names="处置结果", values="告警数", hole=0.5, title="有效 vs 误报（期间内）")
        st.plotly_chart(ui.style(fig))

t1, t2, t3 = st.tabs(["按网格", "设备在线", "数字吹哨响应"])
with t1:
    ui.table(q.alarms_by_grid(w, s), "网格告警", "sensors", height=320)
with t2:
    ui.table(q.devices_by_type(w, s), "设备在线", "sensors")
with t3:
    wr = q.whistle_response(w, s)
    st.caption("来源为「数字吹哨」（传感器触发）的工单：响应与办结口径与诉求页相同。")
    ui.table(wr.select("month", "tickets", "responded", "timely_response_rate", "on_time_closure_rate", "avg_response_hours")
             .with_columns(pl.col(pl.Float64).round(3)), "数字吹哨响应", "sensors")
