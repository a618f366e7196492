"""The cockpit run for real with Streamlit's AppTest: every page for every role, login, scoping,
masking, refusal, audit, idle expiry, and a new publish picked up without a restart."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from cockpit import auth, store
from cockpit.auth import PAGE_ROLES, ROLES, User
from pipelines.settings import get_settings
from warehouse.publish import connect_current

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = {
    "overview": ("pages/overview.py", "总览"),
    "complaints": ("pages/complaints.py", "诉求"),
    "appraisal": ("pages/appraisal.py", "网格考核"),
    "people": ("pages/people.py", "人群标签"),
    "map": ("pages/annoyance_map.py", "烦恼指数图"),
    "volunteers": ("pages/volunteers.py", "志愿积分"),
    "sensors": ("pages/sensors.py", "物联感知"),
    "sql": ("pages/sql.py", "自助查询"),
    "quality": ("pages/quality.py", "数据质量"),
    "audit": ("pages/audit.py", "审计日志"),
}
GRID = "G001"
# lazy tab sets (st.tabs(..., on_change="rerun")): only the open tab runs, so page tests open each in turn
LAZY_TABS = {
    "complaints": {"complaints_tab": ["网格 × 月份", "渠道与类型", "超时清单", "重复诉求热点"]},
    "appraisal": {"ranking_view": ["排名表", "得分构成"], "drill_tab": ["办结工单", "巡查轨迹", "入户走访"]},
}


@pytest.fixture(scope="module")
def env(demo_run, tmp_path_factory):
    settings, _, _ = demo_run
    state = tmp_path_factory.mktemp("state")
    mp = pytest.MonkeyPatch()
    mp.setenv("COCKPIT_WAREHOUSE", str(settings.warehouse))
    mp.setenv("COCKPIT_STATE_DIR", str(state))
    get_settings.cache_clear()
    from cockpit import ui

    ui.settings.clear()
    with connect_current(settings.warehouse) as con:
        worker = con.execute(
            "select worker_id from staging.stg_registry__workers where post = '网格长' and grid_code = ? order by worker_id limit 1",
            [GRID],
        ).fetchall()[0][0]
        ids = {r[0] for r in con.execute("select id_number from staging.stg_registry__persons").fetchall()}
        phones = {r[0] for r in con.execute("select phone from staging.stg_registry__persons where phone is not null").fetchall()}
    auth.add_user(state, "leader1", "correct horse battery", "leader")
    yield {"warehouse": settings.warehouse, "state": state, "worker": worker, "ids": ids, "phones": phones}
    mp.undo()
    get_settings.cache_clear()
    ui.settings.clear()


def user_for(role: str, env) -> User:
    if role == "grid_worker":
        return User(env["worker"], role, GRID, "网格长")
    return User(f"{role}1", role, None, ROLES[role])


def app_as(user: User | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if user is not None:
        at.session_state["user"] = user
        at.session_state["last_seen"] = time.time()
    return at


def each_view(at: AppTest, key: str):
    """Open page ``key`` and yield once per view of it: as it opens, then with each other lazy tab open."""
    at.switch_page(PAGES[key][0]).run()
    yield
    for tab_key, labels in LAZY_TABS.get(key, {}).items():
        if labels[0] not in [t.label for t in at.tabs]:  # the page stopped before these tabs (refused, no rows)
            continue
        for label in labels[1:]:
            at.session_state[tab_key] = label
            at.run()
            opened = [t for t in at.tabs if t.label == label]
            assert opened and opened[0].children, (key, label)  # the tab ran and drew something
            assert not [t for t in at.tabs if t.label == labels[0]][0].children, (key, labels[0])  # and the first did not
            yield
        at.session_state[tab_key] = labels[0]


def frames(at) -> list:
    return [d.value for d in at.dataframe]


def all_text(at) -> str:
    parts = [str(x.value) for x in (*at.markdown, *at.caption, *at.metric, *at.title, *at.subheader)]
    for df in frames(at):
        parts.append(df.to_csv(index=False))
    return "\n".join(parts)


def test_login_form_wrong_then_right_password(env):
    at = app_as(None)
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    at.text_input(key="login_username").input("leader1")
    at.text_input(key="login_password").input("wrong password!")
    at.button[0].click().run()
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert "user" not in at.session_state
    at.text_input(key="login_username").input("leader1")
    at.text_input(key="login_password").input("correct horse battery")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["user"].role == "leader"
    assert [t.value for t in at.title] == ["总览"]
    actions = [a["action"] for a in store.read_audit(env["state"], username="leader1")]
    assert "login_failed" in actions and "login" in actions


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_for_every_role(env, role):
    at = app_as(user_for(role, env))
    at.run()
    assert not at.exception, at.exception
    views = 0
    for key, (_path, title) in PAGES.items():
        for _ in each_view(at, key):
            views += 1
            assert not at.exception, (role, key, [e.value for e in at.exception])
            if role in PAGE_ROLES[key]:
                assert [t.value for t in at.title] == [title], (role, key)
                assert not at.error, (role, key, [e.value for e in at.error])
            else:
                assert any("无权访问" in e.value for e in at.error), (role, key)
                assert not at.dataframe, (role, key)  # refused before any data is read
    lazy = sum(len(labels) - 1 for k, sets in LAZY_TABS.items() if role in PAGE_ROLES[k] for labels in sets.values())
    assert views == len(PAGES) + lazy, (role, views)  # every lazy tab of every page this role may open was seen


def test_grid_worker_sees_only_their_grid(env):
    at = app_as(user_for("grid_worker", env))
    at.run()
    seen = 0
    for key in ("complaints", "people", "sensors", "map", "overview"):
        for _ in each_view(at, key):
            for df in frames(at):
                for col in ("网格编码", "grid_code"):
                    if col in df.columns and len(df):
                        assert set(df[col].dropna()) <= {GRID}, (key, set(df[col]))
                        seen += 1
    assert seen >= 5
    at.switch_page(PAGES["appraisal"][0]).run()
    ranking = frames(at)[0]
    assert list(ranking["人员编号"]) == [env["worker"]]


def test_no_raw_id_number_or_phone_on_any_leader_or_analyst_page(env):
    for role in ("leader", "analyst"):
        at = app_as(user_for(role, env))
        at.run()
        for key in PAGES:
            if role not in PAGE_ROLES[key]:
                continue
            for _ in each_view(at, key):
                text = all_text(at)
                found_ids = set(re.findall(r"\d{17}[\dXx]", text)) & env["ids"]
                found_phones = set(re.findall(r"1[3-9]\d{9}", text)) & env["phones"]
                assert not found_ids and not found_phones, (role, key)


def test_people_list_masked_for_analyst_and_audited(env):
    at = app_as(user_for("analyst", env))
    at.run()
    at.switch_page(PAGES["people"][0]).run()
    at.multiselect(key="tag_and").select("60岁以上").run()
    assert not at.exception
    people = [df for df in frames(at) if "身份证号" in df.columns][0]
    assert len(people) > 0
    assert people["身份证号"].str.fullmatch(r"\d{6}\*{8}[\dX]{4}").all()
    assert people["姓名"].str.contains(r"\*").all()
    count = [m.value for m in at.metric if m.label == "符合条件人数"][0]
    views = [a for a in store.read_audit(env["state"], username="analyst1") if a["action"] == "view" and a["page"] == "people"]
    assert views and '"60岁以上"' in views[0]["filter"] and str(views[0]["rows"]) == count.replace(",", "")


def test_grid_worker_sees_names_and_phones_of_own_grid_but_masked_ids(env):
    at = app_as(user_for("grid_worker", env))
    at.run()
    at.switch_page(PAGES["people"][0]).run()
    people = [df for df in frames(at) if "身份证号" in df.columns][0]
    assert len(people) > 0 and set(people["网格编码"]) == {GRID}
    assert not people["姓名"].str.contains(r"\*").any()
    assert people["身份证号"].str.contains(r"\*{8}").all()


def test_idle_session_expires(env):
    at = app_as(user_for("leader", env))
    at.session_state["last_seen"] = time.time() - get_settings().session_idle_minutes * 60 - 5
    at.run()
    assert "user" not in at.session_state
    assert any("过期" in w.value for w in at.warning)
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_a_new_publish_is_picked_up_without_restart(env, tmp_path):
    from cockpit.data import Warehouse
    from warehouse.publish import ANALYTICS_FILE, current_paths, new_version, publish

    root = tmp_path / "wh"
    shutil.copytree(env["warehouse"], root, symlinks=True)
    w = Warehouse(root)
    before = w.version
    n = w.scalar("select count(*) from mart.ticket_facts")
    v = new_version(root)
    shutil.copyfile(current_paths(root)[1], v / ANALYTICS_FILE)
    import duckdb

    with duckdb.connect(str(v / ANALYTICS_FILE)) as con:  # the full file's mart.ticket_facts is a view of it
        con.execute("delete from mart.ticket_facts where rowid < 5")
    publish(root, v)
    assert w.version != before
    assert w.scalar("select count(*) from mart.ticket_facts") == n - 5


def test_sql_page_runs_audits_and_keeps_history(env):
    at = app_as(user_for("analyst", env))
    at.run()
    at.switch_page(PAGES["sql"][0]).run()
    listed = [o.split(" — ")[0] for o in at.selectbox(key="schema_table").options]  # views too: raw rows passed through
    assert {"mart.ticket_facts", "staging.stg_sensors__events", "raw.sensors__events"} <= set(listed), listed
    at.session_state["sql_text"] = "select grid_code, count(*) as n from mart.ticket_facts group by grid_code order by grid_code"
    at.button(key="sql_run").click().run()
    assert not at.exception
    ok = [x.value for x in at.success]
    assert ok and ok[0].startswith("共 4 行"), ok
    result = [d.value for d in at.dataframe if "n" in d.value.columns][0]
    assert list(result["grid_code"]) == ["G001", "G002", "G003", "G004"]
    at.session_state["sql_text"] = "drop table mart.ticket_facts"
    at.button(key="sql_run").click().run()
    assert any("只允许查询" in e.value for e in at.error)
    log = [a for a in store.read_audit(env["state"], username="analyst1") if a["action"] == "sql_query"]
    assert '"outcome": "refused"' in log[0]["detail"] and "drop table" in log[0]["detail"]
    assert '"outcome": "ok"' in log[1]["detail"] and log[1]["rows"] == 4
    hist = store.history(env["state"], "analyst1")
    assert [h["outcome"] for h in hist[:2]] == ["refused", "ok"]
    at.text_input(key="sql_save_name").input("每网格工单")
    at.button(key="sql_save").click().run()
    assert [q["name"] for q in store.saved_queries(env["state"], "analyst1")] == ["每网格工单"]


def test_map_opens_flat_and_draws_3d_on_request(env):
    """烦恼指数图 opens on the SVG map (no WebGL): every grid with a boundary gets one hover card naming its
    网格长, and the grid worker's scope shows one circle per building with tickets; 三维图 switches to deck.gl."""
    import json

    with connect_current(env["warehouse"]) as con:
        grids_drawn = con.execute("select count(*) from mart.grid_profile where boundary is not null").fetchone()[0]
        grid_rows = con.execute(
            "select g.grid_code, w.name from mart.grid_profile g left join staging.stg_registry__workers w "
            "on w.worker_id = g.grid_leader_id where g.boundary is not null order by g.grid_code"
        ).fetchall()
    at = app_as(user_for("leader", env))
    at.run()
    at.switch_page(PAGES["map"][0]).run()
    assert not at.exception and at.radio(key="map_mode").value == "平面图"
    assert not at.get("deck_gl_json_chart")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    cards = [t for d in fig["data"] for t in d.get("text") or [] if "网格长" in t]
    assert len(cards) == grids_drawn > 1
    code, leader = grid_rows[0]
    assert any(t.startswith(f"<b>{code} ") and f"网格长 {leader or '—'}" in t for t in cards)
    assert all(d.get("type") == "scatter" for d in fig["data"])  # SVG traces only: nothing fetched, nothing WebGL

    at.radio(key="map_mode").set_value("三维图（柱状 / 热力）").run()
    assert not at.exception and not at.get("plotly_chart")
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert "PolygonLayer" in [layer["@@type"] for layer in deck["layers"]]

    worker = app_as(user_for("grid_worker", env))
    worker.run()
    worker.switch_page(PAGES["map"][0]).run()
    with connect_current(env["warehouse"]) as con:
        busy = con.execute(
            "select count(*) from mart.annoyance_index a join mart.building_profile b on a.key = b.building_code "
            "where a.level = 'building' and b.grid_code = ? and a.tickets > 0 and b.lon is not null",
            [GRID],
        ).fetchone()[0]
    fig = json.loads(worker.get("plotly_chart")[0].proto.spec)
    circles = [t for d in fig["data"] for t in d.get("text") or [] if "网格长" not in t]
    assert len(circles) == busy > 0


def test_quality_page_shows_a_file_without_warnings_as_blank_not_none(env):
    """The file reconciliation's 警告 column: a file with no warning shows an empty cell, not "None"."""
    at = app_as(user_for("admin", env))
    at.run()
    at.switch_page(PAGES["quality"][0]).run()
    assert not at.exception
    files = [df for df in frames(at) if "警告" in df.columns]
    assert files and len(files[0]) > 5
    warnings = files[0]["警告"].tolist()
    assert None not in warnings and "None" not in warnings and "" in warnings, warnings
    assert any(w for w in warnings)  # the demo's files that carry a warning still show it


def page_as(env, role: str, key: str) -> AppTest:
    """The app run as ``role`` with page ``key`` open, checked to have raised nothing."""
    at = app_as(user_for(role, env))
    at.run()
    at.switch_page(PAGES[key][0]).run()
    assert not at.exception, at.exception
    return at


def table_formats(at: AppTest, column: str):
    """The first table showing ``column``, and the number format its column config gives each header."""
    table = next(d for d in at.dataframe if column in d.value.columns)
    config = json.loads(table.proto.columns)
    return table, {k: v["type_config"]["format"] for k, v in config.items() if "format" in v.get("type_config", {})}


def test_rates_show_as_percentages_and_exports_keep_the_fractions(env):
    """诉求's grid × month table: each *_rate column is shown as a percentage with one decimal (92.5%, as the KPI
    cards show it), the hours with one decimal; the exports keep the fractions."""
    table, formats = table_formats(page_as(env, "leader", "complaints"), "响应率")
    rates = ("响应率", "及时响应率", "办结率", "按时办结率", "满意率", "重复诉求率")
    assert formats == {**dict.fromkeys(rates, "%.1f%%"), "响应时长中位数(h)": "%.1f", "办结时长P90(h)": "%.1f"}  # counts as they are
    shown = table.value
    assert shown["响应率"].max() > 1  # percentages on screen
    # the frame the table and its exports get is not rounded: rounding to 3 places (0.92513 → 0.925) showed
    # 92.5 exactly and wrote 0.925 into the CSV and Excel files
    values = [v for c in rates for v in shown[c].dropna().tolist()]
    assert any(abs(v * 10 - round(v * 10)) > 1e-6 for v in values), values[:10]


def test_display_config_by_hand():
    """0.925 is shown as 92.5 with a % format, hours keep their value, counts and text are left alone but
    missing text is blank; the frame given (what the exports write) is not changed."""
    from cockpit import ui

    df = pl.DataFrame(
        {"grid_code": ["G1", None], "tickets": [4, 1], "response_rate": [0.925, None], "median_response_hours": [7.48, 1.0]}
    )
    shown, config = ui.display_config(df)
    assert shown.rows() == [("G1", 4, pytest.approx(92.5), 7.48), ("", 1, None, 1.0)]  # missing text blank, not "None"
    assert df["response_rate"].to_list() == [0.925, None] and df["grid_code"].to_list() == ["G1", None]
    assert set(config) == {"响应率", "响应时长中位数(h)"}


@pytest.mark.parametrize(
    "now, before, expected",
    [
        (0.9340, 0.9344, {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}),  # −0.04 points
        (0.8000, 0.8004, {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}),
        (0.8004, 0.8000, {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}),
        (0.8006, 0.8000, {"delta": "+0.1 个百分点"}),  # 0.06 points round up
        (0.707, 0.736, {"delta": "-2.9 个百分点"}),
        (0.82, 0.80, {"delta": "+2.0 个百分点"}),
        (None, 0.8, {"delta": None}),
    ],
)
def test_rate_delta_by_hand(now, before, expected):
    """A rate's change in percentage points to 0.1; one that rounds to nothing is 持平, without a red arrow."""
    from cockpit import ui

    assert ui.rate_delta(now, before) == expected


@pytest.mark.parametrize(
    "page, axes",
    [("overview", ["%Y-%m", "%Y-%m"]), ("volunteers", ["%Y-%m"]), ("sensors", ["%m-%d"])],
)
def test_date_axes_are_labelled_the_chinese_way(env, page, axes):
    """The monthly charts say 2026-09, one tick a month, and the daily one 09-06 — not Plotly's English
    "Sep 6 2026" every two weeks."""
    at = page_as(env, "leader", page)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    dated = [s["layout"]["xaxis"] for s in specs if s["layout"].get("xaxis", {}).get("tickformat")]
    assert [x["tickformat"] for x in dated] == axes
    assert all(x.get("dtick") == "M1" for x in dated if x["tickformat"] == "%Y-%m")


def test_sensor_cards_hold_one_figure_each(env):
    """物联感知's cards: effective and false alarms are two cards, each the street's sum over the device
    mart (a leader's default scope), not one "a / b" value that a narrow card cuts off."""
    cards = {m.label: m.value for m in page_as(env, "leader", "sensors").metric}
    assert list(cards) == ["设备", "在线", "近30天告警", "其中有效", "其中误报", "近30天故障"]
    assert all("/" not in v for v in cards.values())
    with connect_current(env["warehouse"]) as con:
        effective, false = con.execute("select sum(effective_30d), sum(false_alarms_30d) from mart.device_status").fetchall()[0]
    assert effective > 0 and false > 0
    assert (cards["其中有效"], cards["其中误报"]) == (f"{effective:,}", f"{false:,}")


def test_appraisal_ranking_shows_rates_in_percent_and_exports_the_values(env):
    """网格考核's ranking: 按时办结率 and 满意率 in percent, hours and km to 0.1; each shown rate is 100 × the
    value the appraisal Excel and ``ranking_frame`` carry."""
    from warehouse.appraisal import load_quarter, ranking_frame

    at = page_as(env, "reviewer", "appraisal")
    table, formats = table_formats(at, "按时办结率")
    assert formats == {"按时办结率": "%.1f%%", "满意率": "%.1f%%", "响应时长中位数": "%.1f", "巡查里程": "%.1f", "巡查时长": "%.1f"}
    quarter = at.selectbox[0].value
    values = ranking_frame(load_quarter(env["warehouse"], quarter)).to_pandas().set_index("人员编号")
    shown = table.value.set_index("人员编号")
    assert len(shown) > 0
    for worker, row in shown.iterrows():
        assert row["按时办结率"] == pytest.approx(values.loc[worker, "按时办结率"] * 100, nan_ok=True)
        assert row["巡查里程"] == pytest.approx(values.loc[worker, "巡查里程"], nan_ok=True)
