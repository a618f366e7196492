"""mart.person_tags and mart.annoyance_index against answers worked out by hand. D = 2026-03-31.

    person  born        household   building  age on D  derived tags
    P1      1966-03-31  H1 (alone)  B1 (G1)   60        60岁以上, 独居老人   (birthday on D counts)
    P2      1966-04-01  H2          B1        59        —                  (volunteered exactly 1 year before D: out)
    P3      2008-03-31  H2          B1        18        诉求人              (reported 2026-03-31 23:00)
    P4      2008-04-01  H3 (alone)  B1        17        未成年人            (a ticket after D does not count)
    P5      1946-03-30  H4          B2 (G2)   80        60岁以上, 80岁以上
    P6      1990-01-01  H4          B2        36        志愿者              (checked in 2025-04-01)

烦恼指数, 90 dates ending on D = 2026-01-01 … 2026-03-31, weight 噪音 = 2, others 1:
    A1 B1 噪音 2026-01-01 00:00 in · A2 B1 噪音 2025-12-31 23:59 out · A3 B2 漏水 2026-03-31 23:59 in
    A4 G1 噪音 (no building) 2026-02-01 in · A5 B1 噪音 2026-04-01 after D
    G1: 2 tickets, weighted 4, 4 residents → 1000 · G2: 1, 1, 2 → 500
    B1: 1, 2, 4 → 500 · B2: 1, 1, 2 → 500 · B3 (G2, nobody lives there): 0 tickets, index null
"""

from datetime import date

import numpy as np
import pytest

from pipelines.demo import id_numbers
from pipelines.ingest import run_ingest
from pipelines.settings import Settings
from warehouse.publish import connect_current

BORN = {
    "P1": "1966-03-31",
    "P2": "1966-04-01",
    "P3": "2008-03-31",
    "P4": "2008-04-01",
    "P5": "1946-03-30",
    "P6": "1990-01-01",
}
HOME = {
    "P1": ("H1", "B1"),
    "P2": ("H2", "B1"),
    "P3": ("H2", "B1"),
    "P4": ("H3", "B1"),
    "P5": ("H4", "B2"),
    "P6": ("H4", "B2"),
}
IDS = dict(
    zip(
        BORN,
        id_numbers(
            np.array(["310101"] * 6),
            np.array(list(BORN.values()), dtype="datetime64[D]"),
            np.arange(6) * 2 + 1,
        ),
        strict=True,
    )
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    inbox = root / "inbox"
    for d in ("registry", "complaints", "volunteers"):
        (inbox / d).mkdir(parents=True)
    (inbox / "registry" / "grids.csv").write_text(
        "网格编码,网格名称,社区,街道\nG1,一,甲,街道\nG2,二,乙,街道\n", encoding="utf-8"
    )
    (inbox / "registry" / "buildings.csv").write_text(
        "楼栋编码,地址,网格编码\nB1,1号,G1\nB2,2号,G2\nB3,3号,G2\n", encoding="utf-8"
    )
    persons = ["姓名,公民身份号码,户号,楼栋编码,人员标签"] + [
        f"{p},{IDS[p]},{HOME[p][0]},{HOME[p][1]},{'党员;独居老人' if p == 'P1' else ''}" for p in BORN
    ]
    (inbox / "registry" / "persons.csv").write_text("\n".join(persons) + "\n", encoding="utf-8")
    (inbox / "volunteers" / "activities.csv").write_text(
        "活动编号,活动名称,活动类型,开始时间,结束时间\nV1,助老,助老服务,2025-03-31 09:00,2025-04-01 12:00\n",
        encoding="utf-8",
    )
    (inbox / "volunteers" / "records.csv").write_text(
        f"记录编号,活动编号,身份证号,签到时间,获得积分\nR1,V1,{IDS['P2']},2025-03-31 10:00,5\nR2,V1,{IDS['P6']},2025-04-01 09:00,5\n",
        encoding="utf-8",
    )
    (inbox / "complaints" / "t.csv").write_text(
        "工单编号,来源,诉求类型,楼栋编码,网格编码,上报时间,诉求人身份证号\n"
        f"A1,12345,噪音,B1,,2026-01-01 00:00:00,\nA2,12345,噪音,B1,,2025-12-31 23:59:00,\n"
        f"A3,12345,漏水,B2,,2026-03-31 23:59:00,{IDS['P3']}\nA4,12345,噪音,,G1,2026-02-01 12:00:00,\n"
        f"A5,12345,噪音,B1,,2026-04-01 08:00:00,{IDS['P4']}\n",
        encoding="utf-8",
    )
    settings = Settings(
        warehouse=root / "wh", person_key_secret="k", data_docs=False, category_weights={"噪音": 2}
    )
    assert run_ingest(inbox, settings, as_of=date(2026, 3, 31)).status == "published"
    c = connect_current(root / "wh")
    yield c
    c.close()


def test_person_tags(con):
    rows = con.execute(
        "select p.name, t.tag, t.source from mart.person_tags t join staging.stg_registry__persons p using (person_key)"
    ).fetchall()
    got = {(n, t, s) for n, t, s in rows}
    assert got == {
        ("P1", "党员", "registry"),
        ("P1", "独居老人", "registry"),
        ("P1", "60岁以上", "derived"),
        ("P1", "独居老人", "derived"),
        ("P3", "诉求人", "derived"),
        ("P4", "未成年人", "derived"),
        ("P5", "60岁以上", "derived"),
        ("P5", "80岁以上", "derived"),
        ("P6", "志愿者", "derived"),
    }


def test_tag_counts_per_grid_and_per_tag(con):
    """P1 carries 独居老人 from the registry and derived: one person, counted once in G1 and in the dictionary."""
    grids = con.execute("select grid_code, community, tag, persons from mart.tag_grid_counts").fetchall()
    assert sorted(grids) == [
        ("G1", "甲", "60岁以上", 1),
        ("G1", "甲", "党员", 1),
        ("G1", "甲", "未成年人", 1),
        ("G1", "甲", "独居老人", 1),
        ("G1", "甲", "诉求人", 1),
        ("G2", "乙", "60岁以上", 1),
        ("G2", "乙", "80岁以上", 1),
        ("G2", "乙", "志愿者", 1),
    ]
    tags = dict(con.execute("select tag, persons from mart.tag_dictionary").fetchall())
    assert tags == {"60岁以上": 2, "80岁以上": 1, "党员": 1, "未成年人": 1, "独居老人": 1, "诉求人": 1, "志愿者": 1}


def test_person_tags_hold_no_id_number(con):
    cols = [r[0] for r in con.execute("describe mart.person_tags").fetchall()]
    assert cols == ["person_key", "tag", "source"]


def test_annoyance_index(con):
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select level, key, window_end, residents, tickets, weighted_tickets, index from mart.annoyance_index"
        ).fetchall()
    }
    d = date(2026, 3, 31)
    assert rows == {
        ("grid", "G1"): (d, 4, 2, 4.0, 1000.0),
        ("grid", "G2"): (d, 2, 1, 1.0, 500.0),
        ("building", "B1"): (d, 4, 1, 2.0, 500.0),
        ("building", "B2"): (d, 2, 1, 1.0, 500.0),
        ("building", "B3"): (d, 0, 0, 0.0, None),
    }
