"""mart.volunteer_balance, mart.sensor_alarm_daily and mart.care_alerts against hand-worked answers. D = 2026-03-31.

Volunteers: P1 (registry) and X (from outside the registry, kept as 非辖区).
    R1 P1 in 2026-01-01 09:00 out 11:30 (2.5 h) +10 · R2 P1 in 2026-02-01 09:00, no 签退 (0 h) +5 · R3 X 1 h +5
    D1 P1 2026-01-15 (date only = midnight) −8: balance then 10 → fine
    D2 P1 2026-01-20 −5: balance then 2 → overdrawn (flagged, kept)
    D3 P1 2026-02-01 09:00 −2: R2 counts at its check-in (no 签退), balance then 15 − 13 = 2 → fine (not >)
    → P1 earned 15, redeemed 15, balance 0, hours 2.5, in registry, 1 overdrawn; X 5, 0, 5, 1.0, not in registry, 0

Sensors (P1 born 1950 lives alone in H1 → 独居老人; P2 in H2 is not):
    WTR1 (H1) 03-29 00:00 100 · 06:00 101 · 03-30 06:00 101 · 04-01 00:00 105 (after D)  → flat exactly 24 h: alert
    WTR2 (H1) 03-29 00:00 50 · 07:00 51 · 03-30 06:00 51                              → 23 h: no alert
    WTR3 (H2) flat 48 h                                                                 → not a 独居老人 household
    WTR4 (H1) 03-28 00:00 10 · 03-29 00:00 10 (never increased: since = first reading)  → 24 h: alert
    SMK1 (B1, G1) 03-30: 告警 有效, 告警 误报, 告警 (no disposition), 故障; 2026-03-30T17:00:00Z = 03-31 01:00 告警 误报
"""

from datetime import date, datetime

import numpy as np
import pytest

from pipelines.demo import id_numbers
from pipelines.ingest import run_ingest
from pipelines.settings import Settings
from warehouse.publish import connect_current

P1, P2, X = id_numbers(
    np.array(["310101", "310101", "310104"]),
    np.array(["1950-01-01", "1980-01-01", "1985-06-01"], dtype="datetime64[D]"),
    np.array([1, 3, 5]),
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("vs")
    inbox = root / "inbox"
    for d in ("registry", "volunteers", "sensors"):
        (inbox / d).mkdir(parents=True)
    (inbox / "registry" / "grids.csv").write_text(
        "网格编码,网格名称,社区,街道\nG1,一,甲,街道\n", encoding="utf-8"
    )
    (inbox / "registry" / "buildings.csv").write_text("楼栋编码,地址,网格编码\nB1,1号,G1\n", encoding="utf-8")
    (inbox / "registry" / "persons.csv").write_text(
        f"姓名,公民身份号码,户号,楼栋编码\nP1,{P1},H1,B1\nP2,{P2},H2,B1\n", encoding="utf-8"
    )
    (inbox / "volunteers" / "activities.csv").write_text(
        "活动编号,活动名称,活动类型,开始时间,结束时间\nV1,助老,助老服务,2026-01-01 09:00,2026-12-01 12:00\n",
        encoding="utf-8",
    )
    (inbox / "volunteers" / "records.csv").write_text(
        "记录编号,活动编号,身份证号,签到时间,签退时间,获得积分\n"
        f"R1,V1,{P1},2026-01-01 09:00,2026-01-01 11:30,10\nR2,V1,{P1},2026-02-01 09:00,,5\n"
        f"R3,V1,{X},2026-01-02 09:00,2026-01-02 10:00,5\n",
        encoding="utf-8",
    )
    (inbox / "volunteers" / "redemptions.csv").write_text(
        "兑换编号,身份证号,兑换项目,消耗积分,兑换时间\n"
        f"D1,{P1},大米,8,2026-01-15\nD2,{P1},食用油,5,2026-01-20 10:00\nD3,{P1},理发券,2,2026-02-01 09:00\n",
        encoding="utf-8",
    )
    (inbox / "sensors" / "devices.csv").write_text(
        "设备编号,设备类型,楼栋编码,户号\nSMK1,烟感,B1,\nWTR1,水表,B1,H1\nWTR2,水表,B1,H1\nWTR3,水表,B1,H2\nWTR4,水表,B1,H1\n",
        encoding="utf-8",
    )
    ev = [
        ("WTR1", "2026-03-29 00:00", "读数", "100"),
        ("WTR1", "2026-03-29 06:00", "读数", "101"),
        ("WTR1", "2026-03-30 06:00", "读数", "101"),
        ("WTR1", "2026-04-01 00:00", "读数", "105"),
        ("WTR2", "2026-03-29 00:00", "读数", "50"),
        ("WTR2", "2026-03-29 07:00", "读数", "51"),
        ("WTR2", "2026-03-30 06:00", "读数", "51"),
        ("WTR3", "2026-03-28 00:00", "读数", "7"),
        ("WTR3", "2026-03-30 00:00", "读数", "7"),
        ("WTR4", "2026-03-28 00:00", "读数", "10"),
        ("WTR4", "2026-03-29 00:00", "读数", "10"),
        ("SMK1", "2026-03-30 10:00", "告警", "", "有效"),
        ("SMK1", "2026-03-30 11:00", "告警", "", "误报"),
        ("SMK1", "2026-03-30 12:00", "告警", ""),
        ("SMK1", "2026-03-30 13:00", "故障", ""),
        ("SMK1", "2026-03-30T17:00:00Z", "告警", "", "误报"),
        ("SMK1", "2026-03-30 14:00", "心跳", ""),
    ]
    lines = ["设备编号,事件时间,事件类型,数值,处置结果"] + [",".join([*e, ""][:5]) for e in ev]
    (inbox / "sensors" / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(warehouse=root / "wh", person_key_secret="k", data_docs=False)
    assert run_ingest(inbox, settings, as_of=date(2026, 3, 31)).status == "published"
    c = connect_current(root / "wh")
    yield c
    c.close()


def key(con, id_number):
    return con.execute(
        "select distinct person_key from raw.volunteers__records where id_number = ?", [id_number]
    ).fetchone()[0]


def test_volunteer_balance(con):
    rows = {r[0]: r[1:] for r in con.execute("select * from mart.volunteer_balance").fetchall()}
    assert rows == {
        key(con, P1): (15.0, 15.0, 0.0, 2.5, True, 1),
        key(con, X): (5.0, 0.0, 5.0, 1.0, False, 0),
    }


def test_sensor_alarm_daily(con):
    rows = con.execute("select * from mart.sensor_alarm_daily order by day").fetchall()
    assert rows == [
        (date(2026, 3, 30), "G1", "烟感", 3, 1, 1, 1),
        (date(2026, 3, 31), "G1", "烟感", 1, 0, 1, 0),
    ]


def test_care_alerts(con):
    rows = con.execute("select * from mart.care_alerts order by device_id").fetchall()
    assert rows == [
        ("H1", "WTR1", datetime(2026, 3, 29, 6, 0), 24.0),
        ("H1", "WTR4", datetime(2026, 3, 28, 0, 0), 24.0),
    ]


def test_volunteer_monthly(con):
    # 2026-01: R1 (P1, 10 points, 2.5 h), R3 (X, 5, 1 h); redeemed D1 8 + D2 5
    # 2026-02: R2 (P1, 5, no 签退 → 0 h); redeemed D3 2
    rows = con.execute("select * from mart.volunteer_monthly order by month").fetchall()
    assert rows == [
        (date(2026, 1, 1), 2, 2, 1, 15.0, 3.5, 2, 13.0),
        (date(2026, 2, 1), 1, 1, 1, 5.0, 0.0, 1, 2.0),
    ]


def test_volunteer_participation(con):
    # adults P1 (born 1950) and P2 (1980); only P1 has a record in (D − 1 year, D]; X is not in the registry
    rows = con.execute("select level, key, adults, participants, participation_rate from mart.volunteer_participation order by level").fetchall()
    assert rows == [("community", "甲", 2, 1, 0.5), ("grid", "G1", 2, 1, 0.5), ("street", "街道", 2, 1, 0.5)]


def test_device_status_online_and_30_day_counts(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select device_id, last_event_at, online, alarms_30d, effective_30d, false_alarms_30d, faults_30d "
            "from mart.device_status"
        ).fetchall()
    }
    # SMK1's last event is 03-31 01:00 (the zoned 17:00Z): online on D. WTR1's 04-01 reading is after D,
    # so its last event is 03-30 06:00, more than 24 h before the end of D: offline.
    assert rows["SMK1"] == (datetime(2026, 3, 31, 1, 0), True, 4, 1, 2, 1)
    assert rows["WTR1"] == (datetime(2026, 3, 30, 6, 0), False, 0, 0, 0, 0)
    assert rows["WTR4"][1] is False


def test_person_profile_is_masked_like_the_pages_mask(con):
    from warehouse.privacy import mask_id, mask_name, mask_phone

    got = con.execute(
        "select p.name, p.id_number, p.phone, m.name_masked, m.id_number_masked, m.phone_masked "
        "from staging.stg_registry__persons p join mart.person_profile m using (person_key) order by p.name"
    ).fetchall()
    assert len(got) == 2
    for name, idn, phone, mn, mi, mp in got:
        assert (mn, mi, mp) == (mask_name(name), mask_id(idn), mask_phone(phone))
        assert mi == idn[:6] + "********" + idn[-4:]


def test_demo_exchange_overdraws_only_where_planted(demo_run):
    """The demo's redemptions are drawn against what each volunteer had earned by that day, as a points
    exchange allows: only the OVERDRAWN_PLANTED ones (dated before any points) overdraw, and no balance
    ends below zero."""
    from pipelines.demo import OVERDRAWN_PLANTED

    settings, _, _ = demo_run
    with connect_current(settings.warehouse) as c:
        redeemed, overdrawn, negative = c.execute(
            "select count(*) filter (where redeemed > 0), sum(overdrawn_redemptions), count(*) filter (where balance < 0) "
            "from mart.volunteer_balance"
        ).fetchone()
        redemptions = c.execute("select count(*) from staging.stg_volunteers__redemptions").fetchone()[0]
    assert overdrawn == OVERDRAWN_PLANTED and negative == 0
    assert redeemed >= 5 and redemptions >= 10  # tiny scale: 200 service records, 40 candidate redemptions
