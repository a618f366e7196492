"""Real public 311 exports load through a per-folder mapping.toml, with no code change (SPEC §2)."""

import shutil

import polars as pl
from conftest import AS_OF, make_settings

from pipelines.ingest import run_ingest
from warehouse.publish import connect_current

GRIDS = "网格编码,网格名称,社区,街道\nLA01,Los Angeles,LA,LA\n"
STATUS = '[values.status]\nClosed = "已办结"\nCancelled = "已撤销"\nOpen = "处理中"\nPending = "处理中"\n"Referred Out" = "处理中"\n'


def inbox_with(tmp_path, real_file, mapping: str):
    inbox = tmp_path / "inbox"
    (inbox / "registry").mkdir(parents=True)
    (inbox / "registry" / "grids.csv").write_text(GRIDS, encoding="utf-8")
    (inbox / "complaints").mkdir()
    shutil.copy(real_file, inbox / "complaints" / real_file.name)
    (inbox / "complaints" / "mapping.toml").write_text(mapping, encoding="utf-8")
    return inbox


def test_la311_2020_through_mapping(real_data, tmp_path):
    mapping = (
        '[columns]\nsrnumber = "ticket_id"\nrequesttype = "category"\ncreateddate = "reported_at"\n'
        'closeddate = "resolved_at"\nupdateddate = "updated_at"\nowner = "department"\nstatus = "status"\n'
        'latitude = "lat"\nlongitude = "lon"\naddress = "address"\n'
        '[defaults]\nsource = "12345"\ngrid_code = "LA01"\n' + STATUS
    )
    src = real_data / "311" / "la311_2020_requests_10k.csv"
    result = run_ingest(inbox_with(tmp_path, src, mapping), make_settings(tmp_path / "wh"), as_of=AS_OF)
    f = next(f for f in result.files if f.entity == "tickets")
    assert f.rows_in == 10_000 and f.loaded + f.quarantined == 10_000
    assert f.quarantined == 0, f.reasons
    c = connect_current(tmp_path / "wh")
    ours = pl.from_arrow(
        c.sql(
            "select ticket_id, date_diff('microsecond', reported_at, resolved_at) / 3.6e9 as hours, status "
            "from staging.stg_complaints__tickets"
        ).to_arrow_table()
    )
    theirs = pl.read_csv(src, infer_schema=False).select(
        pl.col("srnumber").alias("ticket_id"), pl.col("_daystoclose").cast(pl.Float64).alias("days")
    )
    both = ours.join(theirs, on="ticket_id")
    assert both.height == 10_000
    closed = both.filter(pl.col("hours").is_not_null())
    # hackforla's own _daystoclose is an independent expected value for every closed ticket
    assert closed.height == 9_951
    assert (closed["hours"] - closed["days"] * 24).abs().max() < 0.01
    assert ours.filter(pl.col("status") == "已撤销").height == 244


def test_la311_2017_us_dates_and_negative_durations(real_data, tmp_path):
    mapping = (
        '[columns]\nSRNumber = "ticket_id"\nRequestType = "category"\nCreatedDate = "reported_at"\n'
        'ClosedDate = "resolved_at"\nUpdatedDate = "updated_at"\nOwner = "department"\nStatus = "status"\n'
        'Latitude = "lat"\nLongitude = "lon"\n'
        '[defaults]\nsource = "12345"\ngrid_code = "LA01"\n'
        '[formats]\nreported_at = "%m/%d/%Y %I:%M:%S %p"\nresolved_at = "%m/%d/%Y %I:%M:%S %p"\n'
        'updated_at = "%m/%d/%Y %I:%M:%S %p"\n' + STATUS
    )
    src = real_data / "311" / "la311_2017_subset_10k.csv"
    result = run_ingest(inbox_with(tmp_path, src, mapping), make_settings(tmp_path / "wh"), as_of=AS_OF)
    f = next(f for f in result.files if f.entity == "tickets")
    assert f.rows_in == 9_999
    # PROVENANCE: 12 tickets were closed before they were created
    assert f.reasons == {"timestamps_out_of_order": 12}
    c = connect_current(tmp_path / "wh")
    lo, hi, pm = c.execute(
        "select min(reported_at), max(reported_at), count(*) filter (where hour(reported_at) >= 12) "
        "from staging.stg_complaints__tickets"
    ).fetchone()
    # PROVENANCE: created 2017-12-27 13:36 to 2017-12-31 23:59 (12-hour clock parsed, PM hours ≥ 12)
    assert (lo.strftime("%Y-%m-%d %H:%M"), hi.strftime("%Y-%m-%d %H:%M")) == (
        "2017-12-27 13:36",
        "2017-12-31 23:59",
    )
    assert pm > 0


def test_open311_real_file_in_the_inbox(real_data, tmp_path):
    src = real_data / "open311" / "bloomington_georeport_v2_requests_2012.json"
    inbox = inbox_with(tmp_path, src, '[defaults]\ngrid_code = "LA01"\n')
    result = run_ingest(inbox, make_settings(tmp_path / "wh"), as_of=AS_OF)
    f = next(f for f in result.files if f.entity == "tickets")
    assert (f.rows_in, f.loaded + f.quarantined) == (21, 21)
