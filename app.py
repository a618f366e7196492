"""社区治理数字驾驶舱 — the Streamlit entry point: login, the pages a role may open, shared filters.

Run with ``uv run streamlit run app.py`` (or ``./demo.sh``). Settings come from ``COCKPIT_*``
environment variables (pipelines/settings.py); users are managed with ``cockpit users``.
"""

from pathlib import Path

import streamlit as st

from cockpit import ui
from cockpit.data import NotPublished

st.set_page_config(page_title="社区治理数字驾驶舱", page_icon="🏙️", layout="wide")
st.markdown(ui.CSS, unsafe_allow_html=True)
ui.warm_up()  # once per server process, in the background: the pages' heavy imports, while the user logs in

user = ui.login_gate()

PAGES = [
    ("overview", "pages/overview.py", "总览", ":material/dashboard:"),
    ("complaints", "pages/complaints.py", "诉求", ":material/support_agent:"),
    ("appraisal", "pages/appraisal.py", "网格考核", ":material/leaderboard:"),
    ("people", "pages/people.py", "人群标签", ":material/groups:"),
    ("map", "pages/annoyance_map.py", "烦恼指数图", ":material/map:"),
    ("volunteers", "pages/volunteers.py", "志愿积分", ":material/volunteer_activism:"),
    ("sensors", "pages/sensors.py", "物联感知", ":material/sensors:"),
    ("sql", "pages/sql.py", "自助查询", ":material/terminal:"),
    ("quality", "pages/quality.py", "数据质量", ":material/fact_check:"),
    ("audit", "pages/audit.py", "审计日志", ":material/policy:"),
]
pages = [
    st.Page(path, title=title, icon=icon, url_path=key, default=(i == 0))
    for i, (key, path, title, icon) in enumerate(
        p for p in PAGES if user.may_open(p[0]) and (Path(__file__).parent / p[1]).exists()
    )
]
nav = st.navigation(pages)
try:
    ui.header(user)
    ui.sidebar_filters(user)
except NotPublished:
    ui.no_data()
nav.run()
