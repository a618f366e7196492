import csv
import hashlib
import hmac
import json
import random
from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, ValidationError

from pipelines.geo import _wgs84_to_gcj02, gcj02_to_wgs84
from pipelines.normalize import (
    PersonKeys,
    halfwidth,
    id_checks,
    parse_float,
    parse_phone,
    parse_tags,
    parse_timestamp,
)


def ts(value, fmt=None):
    return pl.select(parse_timestamp(pl.lit(value, pl.String), "Asia/Shanghai", fmt)).item()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-05 08:00:00", datetime(2026, 1, 5, 8, 0)),
        ("2026-01-05 08:00", datetime(2026, 1, 5, 8, 0)),
        ("2026/1/5 8:00", datetime(2026, 1, 5, 8, 0)),
        ("2026/01/05 08:00:09", datetime(2026, 1, 5, 8, 0, 9)),
        ("2026年1月5日", datetime(2026, 1, 5)),
        ("2026年1月5日 08:30", datetime(2026, 1, 5, 8, 30)),
        ("2026-01-05", datetime(2026, 1, 5)),
        ("20260105", datetime(2026, 1, 5)),
        ("2026-01-05T08:00:00", datetime(2026, 1, 5, 8, 0)),
        ("2026-01-05T08:00:00+08:00", datetime(2026, 1, 5, 8, 0)),
        # a zoned value is converted to Asia/Shanghai: these cross a month boundary when converted
        ("2026-01-31T20:00:00Z", datetime(2026, 2, 1, 4, 0)),
        ("2026-01-31T20:00:00.250Z", datetime(2026, 2, 1, 4, 0, 0, 250000)),
        ("2026-01-31T17:30:00+01:00", datetime(2026, 2, 1, 0, 30)),
        ("2026-03-01T01:00:00+09:00", datetime(2026, 3, 1, 0, 0)),
        ("2026-02-28T23:59:59-05:00", datetime(2026, 3, 1, 12, 59, 59)),
        ("2026-01-05T08:00:00.250+08:00", datetime(2026, 1, 5, 8, 0, 0, 250000)),
        # Excel serial numbers (1900 date system): 46027 = 2026-01-05, .5 = noon
        ("46027", datetime(2026, 1, 5)),
        ("46027.5", datetime(2026, 1, 5, 12, 0)),
        ("46027.0", datetime(2026, 1, 5)),
        # full-width digits and surrounding spaces
        ("２０２６－０１－０５　０８：００：００", datetime(2026, 1, 5, 8, 0)),
        ("  2026-01-05 08:00:00  ", datetime(2026, 1, 5, 8, 0)),
        # not dates
        ("2026-13-45 25:00:00", None),
        ("2026-02-30", None),
        ("明天", None),
        ("", None),
        (None, None),
    ],
)
def test_timestamp_forms(raw, expected):
    assert ts(raw) == expected


def test_mapping_format_for_us_style_dates():
    assert ts("12/29/2017 11:58:00 PM", "%m/%d/%Y %I:%M:%S %p") == datetime(2017, 12, 29, 23, 58)
    assert ts("1/2/2025 7:05", "%m/%d/%Y %H:%M") == datetime(2025, 1, 2, 7, 5)


@pytest.mark.parametrize(
    ("raw", "norm", "error", "birth", "gender"),
    [
        ("360426199101010071", "360426199101010071", None, date(1991, 1, 1), "男"),
        ("11010519491231002x", "11010519491231002X", None, date(1949, 12, 31), "女"),  # lower-case x
        (
            "１１０１０５１９４９１２３１００２Ｘ",
            "11010519491231002X",
            None,
            date(1949, 12, 31),
            "女",
        ),  # full-width
        (" 360426199101010071 ", "360426199101010071", None, date(1991, 1, 1), "男"),  # spaces
        ("360426199101010072", "360426199101010072", "bad_id_checksum", None, None),
        ("36042619910101007", "36042619910101007", "bad_id_format", None, None),  # 17 digits
        ("360426199113010079", "360426199113010079", "bad_id_format", None, None),  # month 13
        ("ABC", "ABC", "bad_id_format", None, None),
    ],
)
def test_id_numbers(raw, norm, error, birth, gender):
    cleaned = pl.select(halfwidth(pl.lit(raw))).to_series()
    row = id_checks(cleaned).row(0, named=True)
    assert (row["id_norm"], row["id_error"], row["id_birth"], row["id_gender"]) == (
        norm,
        error,
        birth,
        gender,
    )


def test_id_vectors_from_python_stdnum(real_data):
    """The transcribed python-stdnum doctest vectors: our validator agrees on every one."""
    with open(real_data / "cn_id" / "cn_ric_test_vectors_from_python_stdnum.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    checks = id_checks(pl.Series([r["number"] for r in rows]))
    for r, (err,) in zip(rows, checks.select("id_error").iter_rows(), strict=True):
        assert (err is None) == r["expected"].strip().lower().startswith("valid"), r
        if r["expected_error"]:
            assert err == (
                "bad_id_checksum" if r["expected_error"] == "InvalidChecksum" else "bad_id_format"
            ), r


def test_id_checks_agree_with_python_stdnum_on_mutated_numbers():
    """The vectorised checks give ric.validate's verdict, birth date and gender on valid numbers and on
    every kind of damage: a changed digit, swapped digits, impossible dates, an unknown county, a bad
    length, a letter — 3,000 numbers against the library as the oracle."""
    rng = random.Random(11643)
    counties = ["110105", "360426", "310104", "440305", "510107", "999999", "000000"]

    def valid(county: str) -> str:
        d = date(1900, 1, 1) + timedelta(days=rng.randrange(45_000))
        body = f"{county}{d:%Y%m%d}{rng.randrange(1000):03d}"
        return body + ric.calc_check_digit(body + "0")

    def damaged(n: str) -> str:
        i = rng.randrange(18)
        kind = rng.randrange(7)
        if kind == 0:  # one digit changed
            return n[:i] + str((int(n[i]) + rng.randrange(1, 10)) % 10 if n[i].isdigit() else 1) + n[i + 1 :]
        if kind == 1:  # two neighbours swapped
            j = min(i, 16)
            return n[:j] + n[j + 1] + n[j] + n[j + 2 :]
        if kind == 2:  # month 13, or 30 February, with a matching check digit
            body = n[:10] + rng.choice(["13", "00", "02"]) + rng.choice(["30", "31", "00", "15"]) + n[14:17]
            return body + ric.calc_check_digit(body + "0")
        if kind == 3:
            return n[: rng.choice([15, 17])] if rng.random() < 0.5 else n + "1"
        if kind == 4:
            return n[:i] + "A" + n[i + 1 :]
        if kind == 5:  # year 1799 or 2999, check digit fixed
            body = n[:6] + rng.choice(["1799", "2999"]) + n[10:17]
            return body + ric.calc_check_digit(body + "0")
        return n.lower()

    numbers = []
    for _ in range(1500):
        n = valid(rng.choice(counties))
        numbers += [n, damaged(n)]
    got = id_checks(pl.Series(numbers)).rows(named=True)
    verdicts = Counter()
    for n, g in zip(numbers, got, strict=True):
        try:
            ric.validate(n)
            want = (None, ric.get_birth_date(n), "男" if int(n.upper()[16]) % 2 else "女")
        except InvalidChecksum:
            want = ("bad_id_checksum", None, None)
        except ValidationError:
            want = ("bad_id_format", None, None)
        assert (g["id_error"], g["id_birth"], g["id_gender"]) == want, n
        verdicts[want[0]] += 1
    assert min(verdicts.values()) > 100, verdicts  # every verdict is well represented


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("021-6432 1234", "02164321234"),
        ("(021) 64321234", "02164321234"),
        ("无", None),
        ("", None),
    ],
)
def test_phones(raw, expected):
    assert pl.select(parse_phone(pl.lit(raw))).item() == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("独居老人;党员", ["独居老人", "党员"]),
        ("独居老人；党员", ["独居老人", "党员"]),
        ("残疾人、 低保户|独居老人", ["残疾人", "低保户", "独居老人"]),
        ("党员,党员，退役军人", ["党员", "退役军人"]),
        ("", []),
    ],
)
def test_tags(raw, expected):
    assert pl.select(parse_tags(pl.lit(raw))).item().to_list() == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("１２１．４６", 121.46), (" 31.2 ", 31.2), ("1,234.5", 1234.5), ("东经", None)]
)
def test_numbers(raw, expected):
    assert pl.select(parse_float(pl.lit(raw))).item() == expected


def test_numbers_of_a_column_and_whether_given_as_the_expressions_read_them():
    """parse_floats casts what reads as a number as it stands and normalises only the rest: the same numbers as
    parse_float on every value; given() trims only what did not parse: given exactly where the trimmed text is not
    blank."""
    from pipelines.normalize import blank_to_null, given, parse_floats

    raw = ["121.46", "-0.5", "1e3", "+2", ".5", "5.", "１２１．４６", " 31.2 ", "31.2\t", "1,234.5", "东经", "",
           " ", "\u3000", None, "nan", "inf", "0x1A", "1_000", "٣", "1.5.2", "12３"]
    values = pl.Series("v", raw * 3)  # repeated: a real column's size does not matter, only its values
    numbers = parse_floats(values)
    expected = pl.select(parse_float(pl.lit(values))).to_series()
    assert numbers.name == "v" and numbers.dtype == pl.Float64
    assert [str(x) for x in numbers.to_list()] == [str(x) for x in expected.to_list()]  # nan == nan as text
    assert numbers[:4].to_list() == [121.46, -0.5, 1000.0, 2.0] and numbers[6:10].to_list() == [121.46, 31.2, 31.2, 1234.5]
    flags = given(values, numbers)
    assert flags.to_list() == pl.select(blank_to_null(pl.lit(values)).is_not_null()).to_series().to_list()
    assert flags[10:16].to_list() == [True, False, False, False, False, True]


def test_person_key_is_keyed_and_stable():
    ids = pl.Series(["360426199101010071", "360426199101010071", None])
    a = PersonKeys(b"secret-a")(ids)
    assert a[0] == a[1] and len(a[0]) == 32 and a[2] is None
    # the same key every earlier warehouse version stored: HMAC-SHA256, first 32 hex digits
    assert a[0] == hmac.new(b"secret-a", b"360426199101010071", hashlib.sha256).hexdigest()[:32]
    assert PersonKeys(b"secret-b")(ids)[0] != a[0]
    assert "360426" not in a[0]


def test_a_runs_person_keys_hash_each_id_once_and_match_the_one_off_key():
    keys = PersonKeys(b"secret-a")
    first = keys(pl.Series("id_number", ["360426199101010071", "11010519491231002X", None]))
    ids = pl.Series("reporter_id_number", ["11010519491231002X", "440524188001010014", "360426199101010071"])
    later = keys(ids)
    assert keys.memo.height == 3  # the two IDs seen before were not hashed again
    assert later.name == "reporter_id_number"
    assert later.to_list() == PersonKeys(b"secret-a")(ids).to_list()  # a fresh instance: the one-off keys
    assert (first[0], first[1], first[2]) == (later[2], later[0], None)


def test_a_runs_id_checks_check_each_number_once_and_give_the_one_off_answers(monkeypatch):
    import pipelines.normalize as normalize

    keys = PersonKeys(b"secret-a")
    checked = []
    real = normalize._id_table
    monkeypatch.setattr(normalize, "_id_table", lambda v: checked.append(sorted(v.to_list())) or real(v))
    first = ["360426199101010071", "11010519491231002X", None, "360426199101010072"]
    keys.checks(pl.Series("id_number", first))
    ids = ["11010519491231002X", "440524188001010014", "360426199101010072", None, "1101051949123100", "440524188001010014"]
    later = keys.checks(pl.Series("reporter_id_number", ids))
    # the numbers seen before were not checked again; the new ones once each
    assert checked == [sorted(v for v in first if v), ["1101051949123100", "440524188001010014"]]
    assert keys.checked["__v"].is_unique().all() and keys.checked.height == 5
    assert later.rows() == id_checks(pl.Series(ids)).rows()  # the one-off answers, row for row
    assert later.row(2)[1] == "bad_id_checksum" and later.row(4)[1] == "bad_id_format" and later.row(3) == (None,) * 4
    assert later.row(0)[2:] == (date(1949, 12, 31), "女")


def test_gcj02_round_trip():
    lon, lat = np.array([121.4650, 116.3975]), np.array([31.2120, 39.9087])
    glon, glat = _wgs84_to_gcj02(lon, lat)
    assert np.all(np.abs(glon - lon) > 0.001)  # GCJ-02 is offset by hundreds of metres in China
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.allclose(back_lon, lon, atol=1e-7) and np.allclose(back_lat, lat, atol=1e-7)


def test_column_parser_agrees_with_the_row_parser_on_mixed_forms():
    from pipelines.normalize import NAIVE_FORMATS, parse_timestamps

    values = ["2026-01-05 08:00:00"] * 300 + [
        "2026/1/5 8:00",
        "46027.5",
        "2026-01-31T20:00:00Z",
        "bad",
        None,
        "２０２６年１月５日",
    ]
    col = parse_timestamps(pl.Series("t", values))
    assert col.to_list() == [ts(v) for v in values]
    assert len(NAIVE_FORMATS) > 10


def test_column_parser_normalises_only_what_the_best_form_misses():
    """The column is parsed as it stands; spaces around a value, full-width forms and blanks fail the form
    and go through the row parser. A column where most values need normalising (every value padded) is
    normalised whole, once. Either way the answers are the row parser's."""
    from pipelines.normalize import parse_timestamps

    odd = [
        " 2026年1月5日 08:00",
        "2026年1月5日 08:00\u3000",
        "２０２６年１月５日 ０８：００",
        "",
        "   ",
        "\u3000",
        None,
        "2026-01-05 08:00:00",
        "bad",
    ]
    values = ["2026年1月31日 20:00"] * 300 + odd
    col = parse_timestamps(pl.Series("t", values))
    assert col.to_list() == [ts(v) for v in values]
    assert col[0] == datetime(2026, 1, 31, 20, 0) and col[300] == col[301] == col[302] == datetime(2026, 1, 5, 8, 0)
    assert col[303:307].to_list() == [None] * 4
    padded = [f"  2026/1/{d} 8:00 " for d in range(1, 29)] * 10 + odd  # every value padded: normalised whole
    col = parse_timestamps(pl.Series("t", padded))
    assert col.to_list() == [ts(v) for v in padded]
    assert col[27] == datetime(2026, 1, 28, 8, 0)
    late = [None] * 5000 + ["2026年1月31日 20:00"] * 10  # the sample is found after the first rows
    assert parse_timestamps(pl.Series("t", late)).to_list() == [None] * 5000 + [datetime(2026, 1, 31, 20, 0)] * 10
    assert parse_timestamps(pl.Series("t", ["", " ", None])).to_list() == [None] * 3


def test_a_column_in_utc_with_a_literal_z_converts_like_the_row_parser():
    """Most exports in UTC write a literal Z; the column parser takes that form (3.7× faster than %#z)
    and must give local time, as the row parser does, also for the odd value in another form."""
    from pipelines.normalize import parse_timestamps

    values = ["2026-01-31T20:00:00Z"] * 250 + ["2026-02-28T16:00:00.5Z", "2026-01-05T08:00:00+08:00", "2026-01-05 08:00:00", None]
    col = parse_timestamps(pl.Series("t", values))
    assert col.to_list() == [ts(v) for v in values]
    assert col[0] == datetime(2026, 2, 1, 4, 0) and col[250] == datetime(2026, 3, 1, 0, 0, 0, 500000)


def test_person_keys_shared_by_threads_stay_one_key_per_id():
    """Files loading side by side share the run's PersonKeys: each adds the IDs it has not seen, and two
    adding the same new IDs at once must not store them twice (a doubled memo row doubles the rows the
    join hands back, and the keys no longer line up with the values)."""
    from concurrent.futures import ThreadPoolExecutor

    keys = PersonKeys(b"secret-a")
    batches = [pl.Series("id", [f"{i:018d}" for i in range(k, k + 20_000)]) for k in range(0, 80_000, 5_000)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(keys, batches))
    assert keys.memo["__v"].is_unique().all() and keys.memo.height == 95_000
    alone = PersonKeys(b"secret-a")
    assert [g.to_list() for g in got] == [alone(b).to_list() for b in batches]


def test_has_fullwidth_on_ascii_chinese_and_fullwidth_columns():
    from pipelines.normalize import has_fullwidth

    assert not has_fullwidth(pl.Series(["2026-01-05 08:00:00", "13812345678", None]))  # ASCII: lengths agree
    assert not has_fullwidth(pl.Series(["噪音扰民", "物业管理"]))  # wide Chinese text, but no full-width form
    assert has_fullwidth(pl.Series(["噪音扰民", "１３８１２３４５６７８"]))
    assert has_fullwidth(pl.Series(["A", "2026-01-05\u300008:00"]))  # the ideographic space
    assert not has_fullwidth(pl.Series([None, None], dtype=pl.String))


def test_a_column_with_one_offset_converts_like_the_row_parser():
    """Ticket exports write +08:00 on every timestamp: the column parser reads that offset as literal
    text on Polars' fast path and shifts by it. Values with another offset or shape must still come
    out as the row parser gives them; Shanghai kept daylight time in 1986–1991 (+09:00 local)."""
    from pipelines.normalize import parse_timestamps

    odd = [
        "2026-07-01T08:00:00-05:30",
        "2026-07-01T08:00:00+0800",
        "2026-07-01T08:00:00+08",
        "2026-07-01T08:00:00.5+08:00",
        "2026-07-01T08:00:00Z",
        "2026-07-01 08:00:00",
        "2026-02-30T08:00:00+08:00",
        "1988-07-01T12:00:00+08:00",
        "bad",
        None,
    ]
    values = ["2026-01-31T20:00:00+08:00"] * 250 + odd
    col = parse_timestamps(pl.Series("t", values))
    assert col.to_list() == [ts(v) for v in values]
    assert col[0] == datetime(2026, 1, 31, 20, 0) and col[250] == datetime(2026, 7, 1, 21, 30)
    assert col[257] == datetime(1988, 7, 1, 13, 0)  # +08:00 is 13:00 on a Shanghai summer clock of 1988
    west = parse_timestamps(pl.Series("t", ["2026-01-31T20:00:00-05:00"] * 250 + odd), "UTC")
    assert west[0] == datetime(2026, 2, 1, 1, 0) and west[250] == datetime(2026, 7, 1, 13, 30)


def test_a_required_code_or_enum_is_missing_when_blank_spaces_or_fullwidth_spaces(tmp_path):
    """A required code or enum counts as given exactly when its normalised value does: empty, spaces and
    full-width spaces are missing_required; a full-width code is given (and made half-width)."""
    from pipelines.readers import Mapping, canonicalise, read_any
    from pipelines.schema import BY_TABLE
    from pipelines.validate import Refs, transform

    entity = BY_TABLE["sensors__events"]
    path = tmp_path / "events.csv"
    rows = [("D1", "心跳"), ("", "心跳"), ("  ", "心跳"), ("\u3000", "心跳"), ("Ｄ1", "心跳"), ("D1", " "), ("D1", "\u3000\u3000")]
    path.write_text(
        "设备编号,事件时间,事件类型\n" + "".join(f"{d},2026-07-01 08:00:00,{t}\n" for d, t in rows), encoding="utf-8"
    )
    canon, _ = canonicalise(read_any(path, entity), entity, Mapping(), path)
    out = transform(
        canon, entity, Refs(devices={"D1"}), Mapping(), tz="Asia/Shanghai", keys=PersonKeys(b"k"), margin_km=5
    )
    assert out["__reason"].to_list() == [None, "missing_required", "missing_required", "missing_required", None,
                                         "missing_required", "missing_required"]
    assert out["device_id"].to_list()[4] == "D1"


@pytest.mark.parametrize(
    "tz, first, last",
    [
        ("Asia/Shanghai", datetime(2025, 11, 1), datetime(2026, 11, 20, 23, 59)),  # one offset: one shift
        ("Asia/Shanghai", datetime(1988, 1, 1), datetime(1988, 12, 31)),  # daylight time in 1988
        ("America/New_York", datetime(2024, 3, 10, 6, 59, 59), datetime(2024, 3, 10, 7, 0, 1)),  # 2 s across the switch
        ("Asia/Kathmandu", datetime(1985, 12, 31, 18, 29), datetime(1985, 12, 31, 18, 31)),  # +05:30 → +05:45 mid-hour
        ("Asia/Shanghai", datetime(1950, 1, 1), datetime(2026, 1, 1)),  # too long a span to test hour by hour
    ],
)
def test_utc_to_local_equals_converting_each_value(tz, first, last):
    """One shift where the zone keeps one offset over the column's span, else a conversion per value: the
    answer must equal converting every value, around daylight-time switches and odd-minute offsets too."""
    from pipelines.normalize import utc_to_local

    step = max((last - first) / 997, timedelta(seconds=1))
    values = [first + step * i for i in range(998) if first + step * i <= last] + [last, None]
    utc = pl.Series("t", values, dtype=pl.Datetime("us"))
    want = utc.dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.replace_time_zone(None)
    assert utc_to_local(utc, tz).to_list() == want.to_list()
    assert utc_to_local(pl.Series("t", [None], dtype=pl.Datetime("us")), tz).to_list() == [None]


def test_a_utc_column_across_a_daylight_switch_converts_like_the_row_parser():
    from pipelines.normalize import parse_timestamps

    values = [f"2024-03-{d:02d}T{h:02d}:15:00Z" for d in (9, 10, 11) for h in range(24)] * 5
    col = parse_timestamps(pl.Series("t", values), "America/New_York")
    assert col.to_list() == [pl.select(parse_timestamp(pl.lit(v, pl.String), "America/New_York")).item() for v in values]
    assert col[6] == datetime(2024, 3, 9, 1, 15) and col[24 + 7] == datetime(2024, 3, 10, 3, 15)


def test_enum_values_are_their_own_normal_form():
    """An enum column whose values are all allowed ones as they stand skips normalising (validate's
    _exact_enum): that is only the same answer if every allowed value is already trimmed and half-width."""
    from pipelines.normalize import halfwidth
    from pipelines.schema import ENTITIES

    enums = [c for e in ENTITIES for c in e.columns if c.kind == "enum"]
    assert len(enums) >= 8
    for c in enums:
        values = pl.Series(c.name, list(c.values), dtype=pl.String)
        assert pl.select(halfwidth(pl.lit(values))).to_series().to_list() == list(c.values), c.name


@pytest.mark.parametrize(("odd", "reason"), [(None, None), (" 告警", None), ("告警\u3000", None), ("火警", "invalid_value")])
def test_an_enum_column_as_it_stands_or_normalised_gives_the_same_rows(tmp_path, odd, reason):
    """Allowed values and blanks only (odd None): the fast path; a value with a space around it, or an
    unknown type (火警): every value is normalised. Either way an allowed value is loaded, a blank string is
    missing_required (not an invalid value), and 火警 is invalid."""
    from pipelines.readers import Mapping, canonicalise, read_any
    from pipelines.schema import BY_TABLE
    from pipelines.validate import Refs, transform

    entity = BY_TABLE["sensors__events"]
    path = tmp_path / "events.jsonl"  # JSON keeps an empty string as one (CSV reads a blank field as null)
    types = ["告警", "", "心跳"] + ([odd] if odd else [])
    path.write_text(
        "".join(json.dumps({"设备编号": "D1", "事件时间": "2026-07-01 08:00:00", "事件类型": t}) + "\n" for t in types),
        encoding="utf-8",
    )
    canon, _ = canonicalise(read_any(path, entity), entity, Mapping(), path)
    out = transform(canon, entity, Refs(devices={"D1"}), Mapping(), tz="Asia/Shanghai", keys=PersonKeys(b"k"), margin_km=5)
    assert out["event_type"].to_list()[:3] == ["告警", None, "心跳"]
    assert out["__reason"].to_list() == [None, "missing_required", None] + ([reason] if odd else [])
    if odd:
        assert out["event_type"][3] == odd.strip()


@pytest.mark.parametrize("secret", [b"k", b"secret-a", bytes(range(64)), b"x" * 65 + "密钥".encode(), b""])
def test_person_keys_are_the_hmac_module_s_for_any_key_length(secret):
    """Keys are hashed by DuckDB (HMAC as two SHA-256 calls): they must be the hmac module's, for a key
    shorter than, equal to and longer than SHA-256's 64-byte block, and for non-ASCII values."""
    values = ["360426199101010071", "11010519491231002X", "３６０４２６", "", "a" * 200]
    got = PersonKeys(secret).hash(pl.Series(values)).to_list()
    assert got == [hmac.new(secret, v.encode(), hashlib.sha256).hexdigest()[:32] for v in values]
