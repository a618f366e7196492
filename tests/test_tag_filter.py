"""人群标签's filter over the tag words of mart.person_profile, against answers worked out by hand.

Seventy registry tags T00 … T69 (no derived tags: everyone is 30 on D, nobody volunteers or
reports), so the dictionary, ordered by name, puts T00 … T62 in word 0 and T63 … T69 in word 1:

    person  grid  tags
    Q1      G1    T00, T65          (a tag in each word)
    Q2      G1    T65, T69
    Q3      G2    T00, T01
    Q4      G2    T02 … T64, T66 … T68 (every other tag, so all 70 exist)
"""

from datetime import date

import numpy as np
import pytest

from cockpit import queries as q
from cockpit.data import Warehouse
from pipelines.demo import id_numbers
from pipelines.ingest import run_ingest
from pipelines.settings import Settings

TAGS = {
    "Q1": ["T00", "T65"],
    "Q2": ["T65", "T69"],
    "Q3": ["T00", "T01"],
    "Q4": [f"T{i:02d}" for i in range(2, 69) if i != 65],
}
GRID = {"Q1": "G1", "Q2": "G1", "Q3": "G2", "Q4": "G2"}
# an independent reading of a mart.person_profile row's (aliased ``profile``) tag words, in SQL: each word joined to
# the dictionary, the names in dictionary order — the oracle for the words and for the list's own naming
PROFILE_TAGS = (
    "coalesce((select string_agg(dictionary.tag, '、' order by dictionary.word, dictionary.bit) "
    "from mart.tag_dictionary as dictionary where ((case dictionary.word "
    + " ".join(f"when {w} then profile.tag_bits_{w}" for w in range(q.TAG_WORDS))
    + " end) >> dictionary.bit) & 1 = 1), '')"
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    root = tmp_path_factory.mktemp("tags")
    inbox = root / "inbox" / "registry"
    inbox.mkdir(parents=True)
    (inbox / "grids.csv").write_text("网格编码,网格名称,社区,街道\nG1,一,甲,街道\nG2,二,乙,街道\n", encoding="utf-8")
    (inbox / "buildings.csv").write_text("楼栋编码,地址,网格编码\nB1,1号,G1\nB2,2号,G2\n", encoding="utf-8")
    ids = id_numbers(np.array(["310101"] * 4), np.array(["1996-01-01"] * 4, dtype="datetime64[D]"), np.arange(4) * 2 + 1)
    rows = ["姓名,公民身份号码,户号,楼栋编码,人员标签"] + [
        f"{p},{i},H{p},{'B1' if GRID[p] == 'G1' else 'B2'},{';'.join(reversed(TAGS[p]))}"  # listed out of order
        for p, i in zip(TAGS, ids, strict=True)
    ]
    (inbox / "persons.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = Settings(warehouse=root / "wh", person_key_secret="k", data_docs=False)
    assert run_ingest(root / "inbox", settings, as_of=date(2026, 3, 31)).status == "published"
    return Warehouse(root / "wh")


def names(wh, f, scope=None):
    scope = scope or q.Scope()
    people = q.tag_filter_list(wh, scope, f, limit=10, unmasked={"name"})
    assert q.tag_filter_count(wh, scope, f) == people.height
    return sorted(people["name"])


def test_dictionary_spans_two_words(wh):
    d = {t: (w, b) for t, w, b in wh.rows("select tag, word, bit from mart.tag_dictionary")}
    assert len(d) == 70
    assert (d["T00"], d["T62"], d["T63"], d["T69"]) == ((0, 0), (0, 62), (1, 0), (1, 6))


def test_profile_names_each_persons_tags_in_order(wh):
    got = dict(wh.rows(f"select household_id, {PROFILE_TAGS} from mart.person_profile as profile"))
    assert got["HQ1"] == "T00、T65"
    assert got["HQ2"] == "T65、T69"  # registered as T69;T65
    assert got["HQ3"] == "T00、T01"
    assert got["HQ4"] == "、".join(f"T{i:02d}" for i in range(2, 69) if i != 65)


def test_profile_tags_are_each_persons_distinct_tags(demo_run):
    """The demo has people holding a tag twice (registered, and derived as of D): the profile names it once."""
    from collections import defaultdict

    settings, _, _ = demo_run
    w = Warehouse(settings.warehouse)
    pairs = w.rows("select person_key, tag from mart.person_tags")
    assert len(pairs) > len(set(pairs))  # the doubled tags this test is about
    expected = defaultdict(set)
    for key, tag in pairs:
        expected[key].add(tag)
    got = dict(w.rows(f"select person_key, {PROFILE_TAGS} from mart.person_profile as profile"))
    assert got == {k: "、".join(sorted(expected.get(k, ()))) for k in got}
    assert sum(1 for v in got.values() if v) == len(expected)


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (q.TagFilter(all_of=("T00", "T65")), ["Q1"]),  # AND across both words
        (q.TagFilter(any_of=("T01", "T69")), ["Q2", "Q3"]),  # OR across both words
        (q.TagFilter(all_of=("T65",), none_of=("T69",)), ["Q1"]),
        (q.TagFilter(none_of=("T00", "T65")), ["Q4"]),  # NOT: none of them
        (q.TagFilter(all_of=("T65",), any_of=("T00", "T68")), ["Q1"]),
        (q.TagFilter(all_of=("T62", "T63")), ["Q4"]),  # the last bit of word 0 and the first of word 1
        (q.TagFilter(all_of=("T00", "无此标签")), []),  # a required tag nobody carries: nobody
        (q.TagFilter(any_of=("无此标签",)), []),
        (q.TagFilter(none_of=("无此标签",)), ["Q1", "Q2", "Q3", "Q4"]),
        (q.TagFilter(), ["Q1", "Q2", "Q3", "Q4"]),
    ],
)
def test_filter(wh, f, expected):
    assert names(wh, f) == expected


def test_filter_within_scope_and_by_grid(wh):
    f = q.TagFilter(any_of=("T00", "T65"))
    assert names(wh, f, q.Scope(pinned_grid="G2")) == ["Q3"]
    assert names(wh, f, q.Scope(communities=("甲",))) == ["Q1", "Q2"]
    assert q.tag_filter_by_grid(wh, q.Scope(), f).rows() == [("G1", 2), ("G2", 1)]


def test_tag_list_and_tags_shown(wh):
    listed = dict(q.tag_list(wh, q.Scope(pinned_grid="G1")).rows())
    assert listed == {"T65": 2, "T00": 1, "T69": 1}
    assert q.tag_list(wh, q.Scope()).height == 70
    shown = dict(q.tag_filter_list(wh, q.Scope(), q.TagFilter(), unmasked={"name"}).select("name", "tags").rows())
    assert shown["Q1"] == "T00、T65"
    assert shown["Q4"] == "、".join(TAGS["Q4"])


def _registry_publisher(tmp_path, people: int):
    """A registry inbox of one grid and building under ``tmp_path``; the function returned writes its persons
    file (person → tags, in that order, with valid ID numbers) and ingests it into ``tmp_path / "wh"``."""
    inbox = tmp_path / "inbox" / "registry"
    inbox.mkdir(parents=True)
    (inbox / "grids.csv").write_text("网格编码,网格名称,社区,街道\nG1,一,甲,街道\n", encoding="utf-8")
    (inbox / "buildings.csv").write_text("楼栋编码,地址,网格编码\nB1,1号,G1\n", encoding="utf-8")
    ids = id_numbers(np.array(["310101"] * people), np.array(["1996-01-01"] * people, dtype="datetime64[D]"), np.arange(people) * 2 + 1)
    settings = Settings(warehouse=tmp_path / "wh", person_key_secret="k", data_docs=False)

    def publish_registry(tags: dict[str, str]) -> None:
        rows = ["姓名,公民身份号码,户号,楼栋编码,人员标签"] + [f"{p},{i},H{p},B1,{tags[p]}" for p, i in zip(tags, ids, strict=True)]
        (inbox / "persons.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        assert run_ingest(tmp_path / "inbox", settings, as_of=date(2026, 3, 31)).status == "published"

    return publish_registry


def test_the_dictionary_is_read_again_for_a_new_version(tmp_path):
    """The tag dictionary is read once per published version: after a publish that adds a tag sorting first
    (every other tag moves up one bit), the same Warehouse filters and names tags by the new numbering."""
    publish_registry = _registry_publisher(tmp_path, 2)
    publish_registry({"P1": "T1", "P2": "T2"})
    w = Warehouse(tmp_path / "wh")
    first = q.tag_filter_list(w, q.Scope(), q.TagFilter(all_of=("T2",)), unmasked={"name"})
    assert first.select("name", "tags").rows() == [("P2", "T2")]
    publish_registry({"P1": "A0;T1", "P2": "T2"})  # A0 takes bit 0; T1, T2 move to bits 1, 2
    again = q.tag_filter_list(w, q.Scope(), q.TagFilter(all_of=("T2",)), unmasked={"name"})
    assert again.select("name", "tags").rows() == [("P2", "T2")]
    assert q.tag_filter_count(w, q.Scope(), q.TagFilter(all_of=("T1",))) == 1
    both = q.tag_filter_list(w, q.Scope(), q.TagFilter(all_of=("A0",)), unmasked={"name"})
    assert both.select("name", "tags").rows() == [("P1", "A0、T1")]


def test_a_publish_between_the_dictionary_and_the_query_changes_nothing(tmp_path, monkeypatch):
    """The tag filter reads the dictionary's bits and then tests people's tag words: a publish landing between
    the two (one that adds a tag sorting first, so every other tag moves up one bit) must not apply the old
    version's masks to the new version's words. Each answer is the version's the request started on."""
    from warehouse.publish import live_version, publish

    root = tmp_path / "wh"
    publish_registry = _registry_publisher(tmp_path, 3)
    publish_registry({"P1": "T1", "P2": "T2", "P3": "T2"})  # T1 bit 0, T2 bit 1
    old = live_version(root)
    publish_registry({"P1": "A0;T1", "P2": "T2", "P3": "T2"})  # A0 bit 0, T1 bit 1, T2 bit 2
    new = live_version(root)

    read_dictionary = q._tag_dictionary

    def then_publish(wh, by_place=False):  # the dictionary as the request reads it, then the next version goes live
        out = read_dictionary(wh, by_place)
        if live_version(root) == old:
            publish(root, new)
        return out

    monkeypatch.setattr(q, "_tag_dictionary", then_publish)
    w = Warehouse(root)
    for ask in (
        lambda: q.tag_filter_list(w, q.Scope(), q.TagFilter(all_of=("T2",)), unmasked={"name"}).select("name", "tags").rows(),
        lambda: q.tag_filter_count(w, q.Scope(), q.TagFilter(all_of=("T2",))),
        lambda: q.tag_filter_by_grid(w, q.Scope(), q.TagFilter(all_of=("T2",))).rows(),
    ):
        publish(root, old)
        assert w.version == old.name
        answer = ask()
        assert live_version(root) == new  # the publish did land mid-request
        # T2 is bit 1 in the old version and T1's in the new: old masks on new words give P1 alone ("A0、T1")
        assert answer in ([("P2", "T2"), ("P3", "T2")], 2, [("G1", 2)]), answer
    assert q.tag_filter_list(w, q.Scope(), q.TagFilter(all_of=("A0",)), unmasked={"name"}).select("name", "tags").rows() == [("P1", "A0、T1")]
    # the pin itself (the care list uses it the same way): it keeps its version's answers after a publish
    pin = w.pinned()
    publish(root, old)
    assert (pin.version, w.version) == (new.name, old.name)
    assert pin.scalar("select count(*) from mart.tag_dictionary") == 3  # A0, T1, T2
    assert w.scalar("select count(*) from mart.tag_dictionary") == 2


def test_the_dictionary_is_cached_under_the_version_it_was_read_from(tmp_path, monkeypatch):
    """A publish between reading the version (the cache key) and reading the dictionary's rows must not file the
    new version's numbering under the old version's name: a later request on the old version would use it."""
    from warehouse.publish import live_version, publish

    root = tmp_path / "wh"
    publish_registry = _registry_publisher(tmp_path, 2)
    publish_registry({"P1": "T1", "P2": "T2"})
    old = live_version(root)
    publish_registry({"P1": "A0;T1", "P2": "T2"})
    new = live_version(root)
    publish(root, old)
    read_rows = Warehouse.rows

    def publish_then_read(self, sql, params=None):
        if "tag_dictionary" in sql and live_version(root) == old:
            publish(root, new)
        return read_rows(self, sql, params)

    monkeypatch.setattr(Warehouse, "rows", publish_then_read)
    w = Warehouse(root)
    q._DICTIONARIES.clear()
    q._tag_dictionary(w)
    assert live_version(root) == new  # the publish did land between the two reads
    assert q._DICTIONARIES[(str(root), old.name)][0] == {"T1": (0, 0), "T2": (0, 1)}
