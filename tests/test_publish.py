"""A killed run leaves the published pair as it was; readers keep answering; a new connection sees a publish."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import AS_OF

from warehouse.publish import connect_current, current_paths, live_version, open_pair

ROOT = Path(__file__).resolve().parents[1]
NEW_TICKETS = "工单编号,来源,诉求类型,网格编码,上报时间,更新时间\nN1,12345,噪音扰民,G001,2026-11-19 08:00:00,2026-11-19 09:00:00\nN2,你拍我办,垃圾分类,G002,2026-11-19 10:00:00,2026-11-19 11:00:00\n"


def ingest_cmd(inbox: Path, wh: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.cli",
        "ingest",
        "--inbox",
        str(inbox),
        "--warehouse",
        str(wh),
        "--as-of",
        AS_OF.isoformat(),
    ]


def env(**extra) -> dict:
    e = dict(os.environ, COCKPIT_PERSON_KEY_SECRET="test-secret", COCKPIT_DATA_DOCS="false", **extra)
    e["PYTHONPATH"] = str(ROOT)
    return e


def snapshot(wh: Path):
    """What readers see: the published files and their content."""
    wpath, apath = current_paths(wh)
    c = open_pair(wpath, apath)
    counts = c.execute(
        "select (select count(*) from staging.stg_complaints__tickets), (select count(*) from meta.load_runs)"
    ).fetchone()
    c.close()
    a = duckdb.connect(str(apath), read_only=True)
    acount = a.execute("select count(*) from staging.stg_complaints__tickets").fetchone()[0]
    a.close()
    return wpath, apath, counts, acount


@pytest.fixture
def new_inbox(tmp_path) -> Path:
    inbox = tmp_path / "inbox2"
    (inbox / "complaints").mkdir(parents=True)
    (inbox / "complaints" / "platform_new.csv").write_text(NEW_TICKETS, encoding="utf-8")
    return inbox


@pytest.mark.parametrize(
    "stage", ["after_copy", "after_load", "after_models", "after_quality", "before_switch"]
)
def test_sigkill_before_the_switch_leaves_the_published_pair(warehouse_copy, new_inbox, stage):
    before = snapshot(warehouse_copy)
    p = subprocess.run(
        ingest_cmd(new_inbox, warehouse_copy), env=env(COCKPIT_FAULT_AT=stage), capture_output=True, cwd=ROOT
    )
    assert p.returncode == -signal.SIGKILL, p.stderr.decode()[-2000:]
    assert snapshot(warehouse_copy) == before
    # the next run cleans up after the killed one and publishes
    p = subprocess.run(ingest_cmd(new_inbox, warehouse_copy), env=env(), capture_output=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    after = snapshot(warehouse_copy)
    assert after[2][0] == before[2][0] + 2
    versions = [v for v in (warehouse_copy / "versions").iterdir()]
    assert all((v / "PUBLISHED").exists() for v in versions)  # the killed run's folder is gone


def test_sigkill_after_the_switch_publishes_the_new_pair(warehouse_copy, new_inbox):
    before = snapshot(warehouse_copy)
    p = subprocess.run(
        ingest_cmd(new_inbox, warehouse_copy),
        env=env(COCKPIT_FAULT_AT="after_switch"),
        capture_output=True,
        cwd=ROOT,
    )
    assert p.returncode == -signal.SIGKILL
    after = snapshot(warehouse_copy)
    assert after[0] != before[0] and after[2][0] == before[2][0] + 2 and after[3] == before[3] + 2


@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_sigkill_at_a_random_moment(warehouse_copy, new_inbox, delay):
    before = snapshot(warehouse_copy)
    proc = subprocess.Popen(
        ingest_cmd(new_inbox, warehouse_copy),
        env=env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    now = snapshot(warehouse_copy)
    assert (
        now == before or now[2][0] == before[2][0] + 2
    )  # the old pair, or (if it finished) the new one, never half


READER = """
import sys, time, duckdb
sys.path.insert(0, {root!r})
from warehouse.publish import connect_current
import os
answers, errors, t_end = [], [], time.time() + {seconds}
con = connect_current({wh!r})
while time.time() < t_end and not os.path.exists({stop!r}):
    try:
        answers.append(con.execute("select count(*) from staging.stg_complaints__tickets").fetchone()[0])
        fresh = connect_current({wh!r})
        answers.append(fresh.execute("select count(*) from staging.stg_complaints__tickets").fetchone()[0])
        fresh.close()
    except Exception as e:
        errors.append(repr(e))
    time.sleep(0.02)
print(len(answers), min(answers), max(answers), len(errors), errors[:3])
"""


def test_reader_keeps_answering_during_a_run_and_sees_the_publish(warehouse_copy, new_inbox):
    old_count = snapshot(warehouse_copy)[2][0]
    stop = warehouse_copy.parent / "stop-reader"
    code = READER.format(root=str(ROOT), wh=str(warehouse_copy), seconds=300, stop=str(stop))
    reader = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    p = subprocess.run(ingest_cmd(new_inbox, warehouse_copy), env=env(), capture_output=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    time.sleep(1.0)  # let the reader open a fresh connection after the publish
    stop.touch()
    out, err = reader.communicate(timeout=60)
    n, lo, hi, n_err, errors = out.strip().split(" ", 4)
    assert int(n_err) == 0, errors
    assert int(n) > 50
    assert int(lo) == old_count  # the long-lived connection keeps its version
    assert int(hi) == old_count + 2  # a connection opened after the publish sees the new data
    # and a connection in this process, opened now, also sees it (the versioned path is new)
    c = connect_current(warehouse_copy)
    assert c.execute("select count(*) from staging.stg_complaints__tickets").fetchone()[0] == old_count + 2


def test_old_versions_are_pruned_but_the_live_one_kept(warehouse_copy, new_inbox, tmp_path):
    for i in range(4):
        inbox = tmp_path / f"in{i}"
        (inbox / "complaints").mkdir(parents=True)
        (inbox / "complaints" / "p.csv").write_text(
            NEW_TICKETS.replace("N1", f"M{i}").replace("N2", f"K{i}"), encoding="utf-8"
        )
        assert (
            subprocess.run(
                ingest_cmd(inbox, warehouse_copy), env=env(), capture_output=True, cwd=ROOT
            ).returncode
            == 0
        )
    versions = sorted((warehouse_copy / "versions").iterdir())
    assert len(versions) == 3  # keep_versions default
    assert live_version(warehouse_copy) == versions[-1]


def test_two_writers_are_refused(warehouse_copy, new_inbox):
    from warehouse.publish import WarehouseBusy, writer_lock

    with writer_lock(warehouse_copy):
        p = subprocess.run(
            ingest_cmd(new_inbox, warehouse_copy), env=env(), capture_output=True, cwd=ROOT, text=True
        )
    assert p.returncode == 2 and "ingest.lock" in p.stderr
    with pytest.raises(WarehouseBusy), writer_lock(warehouse_copy), writer_lock(warehouse_copy):
        pass


def test_nothing_published_yet_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing published"):
        connect_current(tmp_path)
