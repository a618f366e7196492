"""人群标签: tags AND / OR / NOT, age range, residence type and grids → count, breakdown by grid,
a list masked by role, export. Every list shown or exported is written to the audit log."""

import plotly.express as px
import streamlit as st

from cockpit import queries as q
from cockpit import ui
from cockpit.auth import UNMASKED
from pipelines.schema import RESIDENCE

user = ui.require("people")
w, s = ui.wh(), ui.scope()
st.title("人群标签")

tags = q.tag_list(w, s)
options = tags["tag"].to_list()
counts = dict(zip(tags["tag"], tags["persons"], strict=True))
fmt = lambda t: f"{t}（{counts.get(t, 0):,}）"  # noqa: E731

c1, c2, c3 = st.columns(3)
all_of = c1.multiselect("同时具有（AND）", options, format_func=fmt, key="tag_and", placeholder="选择标签")
any_of = c2.multiselect("具有任一（OR）", options, format_func=fmt, key="tag_or", placeholder="选择标签")
none_of = c3.multiselect("不具有（NOT）", options, format_func=fmt, key="tag_not", placeholder="选择标签")
c1, c2 = st.columns([2, 2])
age = c1.slider("年龄", 0, 110, (0, 110), key="tag_age")
residence = c2.multiselect("居住类型", list(RESIDENCE), key="tag_residence", placeholder="全部")
f = q.TagFilter(
    tuple(all_of), tuple(any_of), tuple(none_of),
    age[0] if age[0] > 0 else None, age[1] if age[1] < 110 else None, tuple(residence),
)

n = q.tag_filter_count(w, s, f)
st.metric("符合条件人数", f"{n:,}")
by_grid = q.tag_filter_by_grid(w, s, f)
if by_grid.height:
    fig = px.bar(by_grid.to_pandas(), x="grid_code", y="persons", title="按网格分布", labels={"grid_code": "网格", "persons": "人数"})
    st.plotly_chart(ui.style(fig, 300))

st.subheader("人员名单")
unmasked = UNMASKED.get(user.role, set())
if unmasked:
    st.caption("当前角色可查看：" + "、".join({"name": "姓名", "phone": "联系电话"}[x] for x in sorted(unmasked)) + "（身份证号始终脱敏）。查看与导出均记入审计日志。")
else:
    st.caption("姓名、身份证号、联系电话均已脱敏。查看与导出均记入审计日志。")
page_size = 100
pages = max(1, (n + page_size - 1) // page_size)
page_no = st.number_input("页码", 1, pages, 1, key="tag_page") if pages > 1 else 1
people = q.tag_filter_list(w, s, f, limit=page_size, offset=(page_no - 1) * page_size, unmasked=unmasked)
people = ui.mask_frame(people, unmasked)
ui.table(people, "人群名单", "people", person_level=True, filter={**f.describe(), "page": page_no}, total=n, height=420)
if n > page_size:
    full = st.toggle(f"导出全部 {n:,} 人（而非当前页）", key="tag_export_all")
    if full:
        ui.export_buttons(  # read when clicked: every person of the filter
            lambda: ui.mask_frame(q.tag_filter_list(w, s, f, limit=n, unmasked=unmasked), unmasked),
            "人群名单_全部", "people", person_level=True, filter={**f.describe(), "page": "all", "scope": ui.scope_dict()},
            audit_rows=n,
        )
