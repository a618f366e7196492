"""Every query a cockpit page runs, as functions of a Scope (period, communities, grids).

Pages call only these (and the benchmark times exactly these). They read marts, ``meta`` and the
metric definitions of ``warehouse/metrics.py``; no business rule lives in a page. A grid worker's
Scope is pinned to their grid by ``app.py`` before any page runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from cockpit.data import Warehouse
from warehouse.metrics import SLA_BREACH, rollup_columns


@dataclass(frozen=True)
class Scope:
    month_from: date | None = None
    month_to: date | None = None
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    pinned_grid: str | None = None  # a grid worker's own grid: overrides everything else

    def where(self, *, month: str | None = "month", grid: str | None = "grid_code", community: str | None = "community") -> tuple[str, list]:
        """A ``where`` clause and its parameters for the given column names (None: not filtered)."""
        conds, params = ["true"], []
        if month and self.month_from:
            conds.append(f"{month} >= ?")
            params.append(self.month_from)
        if month and self.month_to:
            conds.append(f"{month} <= ?")
            params.append(self.month_to)
        if grid and self.pinned_grid:
            conds.append(f"{grid} = ?")
            params.append(self.pinned_grid)
        else:
            if grid and self.grids:
                conds.append(f"{grid} in ({', '.join('?' * len(self.grids))})")
                params += list(self.grids)
            if community and self.communities:
                conds.append(f"{community} in ({', '.join('?' * len(self.communities))})")
                params += list(self.communities)
        return " and ".join(conds), params

    def previous(self) -> Scope:
        """The same number of months just before this period (for change figures)."""
        if not (self.month_from and self.month_to):
            return self
        n = (self.month_to.year - self.month_from.year) * 12 + self.month_to.month - self.month_from.month + 1
        start = _add_months(self.month_from, -n)
        end = _add_months(self.month_from, -1)
        return Scope(start, end, self.communities, self.grids, self.pinned_grid)


def _add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


# ---------- frame ----------
def as_of_and_publish(wh: Warehouse) -> dict:
    r = wh.rows(
        "select p.as_of, r.finished_at, r.run_id from meta.params p "
        "left join (select * from meta.runs where status = 'published' order by finished_at desc limit 1) r on true"
    )
    as_of, finished, run_id = r[0]
    return {"as_of": as_of, "published_at": finished, "run_id": run_id, "version": wh.version}


def months(wh: Warehouse) -> list[date]:
    return [r[0] for r in wh.rows("select distinct month from mart.ticket_cube_month order by month")]


def grids(wh: Warehouse) -> pl.DataFrame:
    return wh.frame("select grid_code, grid_name, community from mart.grid_profile order by grid_code")


# ---------- 总览 ----------
def population(wh: Warehouse, scope: Scope) -> dict:
    w, p = scope.where(month=None)
    r = wh.frame(
        "select count(*) as grids, coalesce(sum(residents), 0) as residents, coalesce(sum(households), 0) as households, "
        "coalesce(sum(buildings), 0) as buildings, coalesce(sum(elderly_alone), 0) as elderly_alone, "
        "coalesce(sum(disabled), 0) as disabled, coalesce(sum(over_80), 0) as over_80, "
        "coalesce(sum(over_60), 0) as over_60, coalesce(sum(party_members), 0) as party_members "
        f"from mart.grid_profile where {w}",
        p,
    )
    return r.row(0, named=True)


def ticket_rollup(wh: Warehouse, scope: Scope, by: str | None = None, extra_where: str = "", extra_params: list | None = None) -> pl.DataFrame:
    """Counts and §4 rates over the cube, for the scope, optionally by a column (month, grid_code, source, category…)."""
    w, p = scope.where()
    if extra_where:
        w += f" and {extra_where}"
        p += list(extra_params or [])
    group = f"{by}, " if by else ""
    tail = f" group by {by} order by {by}" if by else ""
    return wh.frame(f"select {group}{rollup_columns()} from mart.ticket_cube_month where {w}{tail}", p)


def ticket_kpis(wh: Warehouse, scope: Scope) -> dict:
    return ticket_rollup(wh, scope).row(0, named=True)


def volunteer_totals(wh: Warehouse, scope: Scope) -> dict:
    w, p = scope.where(grid=None, community=None)
    return wh.frame(
        "select coalesce(sum(points_earned), 0) as points_earned, coalesce(sum(points_redeemed), 0) as points_redeemed, "
        "coalesce(sum(records), 0) as records, coalesce(sum(hours), 0) as hours "
        f"from mart.volunteer_monthly where {w}",
        p,
    ).row(0, named=True)


def device_totals(wh: Warehouse, scope: Scope) -> dict:
    w, p = scope.where(month=None, community=None)
    return wh.frame(
        "select count(*) as devices, sum(case when online then 1 else 0 end) as online, "
        "coalesce(sum(alarms_30d), 0) as alarms_30d, coalesce(sum(effective_30d), 0) as effective_30d, "
        "coalesce(sum(false_alarms_30d), 0) as false_alarms_30d, coalesce(sum(faults_30d), 0) as faults_30d "
        f"from mart.device_status where {w}",
        p,
    ).row(0, named=True)


def freshness(wh: Warehouse) -> pl.DataFrame:
    """Per source: the latest run that loaded it, files, rows, quarantined, and failed quality checks of the live run."""
    return wh.frame(
        """
        with last_run as (select run_id from meta.runs where status = 'published' order by finished_at desc limit 1),
        files as (
            select source, max(finished_at) as last_loaded_at,
                   count(*) filter (where status = 'loaded') as files_loaded,
                   sum(rows_in) as rows_in, sum(loaded) as rows_loaded, sum(quarantined) as rows_quarantined
            from meta.load_runs where status = 'loaded' group by source
        ),
        checks as (
            select split_part(suite, '__', 1) as suite_source,
                   count(*) filter (where not success and severity = 'warning') as warnings_failed
            from meta.quality_results where run_id = (select run_id from last_run) group by 1
        )
        select files.*, coalesce(sum(checks.warnings_failed), 0) as warnings_failed
        from files left join checks on checks.suite_source = 'stg_' || files.source
        group by all order by files.source
        """
    )


# ---------- 诉求 ----------
def grid_month_kpis(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(community=None)
    if scope.communities and not scope.pinned_grid:
        w += f" and grid_code in (select grid_code from mart.grid_profile where community in ({', '.join('?' * len(scope.communities))}))"
        p += list(scope.communities)
    return wh.frame(f"select * from mart.kpi_grid_month where {w} order by month desc, grid_code", p)


def area_month_kpis(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    """Street-level months (exact medians) when the scope is the whole street, else the cube roll-up by month."""
    if scope.communities or scope.grids or scope.pinned_grid:
        return ticket_rollup(wh, scope, by="month")
    w, p = scope.where(grid=None, community=None)
    return wh.frame(f"select * from mart.kpi_area_month where level = 'street' and {w} order by month", p)


def sla_breaches(wh: Warehouse, scope: Scope, limit: int = 500) -> tuple[int, pl.DataFrame]:
    """How many tickets of the scope missed an SLA (from the cube), and the latest ``limit`` of them.

    ticket_facts is stored newest first (reported_at desc, ticket_id) and DuckDB keeps insertion
    order without an ORDER BY, so the list is a prefix scan that stops at ``limit`` rather than a
    sort of every breach of the period; the outer ORDER BY re-sorts the page only."""
    w, p = scope.where()
    n = wh.scalar(f"select coalesce(sum(sla_breaches), 0) from mart.ticket_cube_month where {w}", p)
    rows = wh.frame(
        "select * from (select ticket_id, source, category, urgency, grid_code, handler_id, reported_at, resolved_at, "
        "round(response_hours, 1) as response_hours, round(resolution_hours, 1) as resolution_hours, "
        f"responded_on_time, resolved_on_time from mart.ticket_facts where {w} and ({SLA_BREACH}) limit ?) "
        "order by reported_at desc, ticket_id",
        p + [limit],
    )
    return n, rows


def repeat_hotspots(wh: Warehouse, scope: Scope, limit: int = 100) -> pl.DataFrame:
    w, p = scope.where(month=None)
    return wh.frame(
        f"select * from mart.repeat_hotspots where {w} order by repeats desc, tickets desc, building_code, category limit ?",
        p + [limit],
    )


def ticket_list(wh: Warehouse, scope: Scope, grid: str, month: date, limit: int = 1000) -> pl.DataFrame:
    w, p = scope.where()
    return wh.frame(
        "select ticket_id, source, category, urgency, building_code, handler_id, reported_at, resolved_at, "
        "round(response_hours, 2) as response_hours, round(resolution_hours, 2) as resolution_hours, "
        "responded_on_time, resolved_on_time, satisfied, is_repeat "
        f"from mart.ticket_facts where {w} and grid_code = ? and month = ? order by reported_at, ticket_id limit ?",
        p + [grid, month, limit],
    )


# ---------- 网格考核: one worker's quarter ----------
def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """'2026Q3' → [2026-07-01 00:00, 2026-10-01 00:00)."""
    year, n = int(quarter[:4]), int(quarter[-1])
    return datetime(year, n * 3 - 2, 1), datetime(year + (n == 4), 1 if n == 4 else n * 3 + 1, 1)


def worker_tickets(wh: Warehouse, worker: str, quarter: str) -> pl.DataFrame:
    """Tickets the worker resolved in the quarter (ticket_facts is stored by time, so the quarter prunes the scan)."""
    start, end = quarter_bounds(quarter)
    return wh.frame(
        "select ticket_id, category, urgency, grid_code, reported_at, resolved_at, round(response_hours, 1) as response_hours, "
        "round(resolution_hours, 1) as resolution_hours, resolved_on_time, satisfied from mart.ticket_facts "
        "where handler_id = ? and resolved_at >= ? and resolved_at < ? and reported_at < ? order by resolved_at, ticket_id",
        [worker, start, end, end],
    )


def worker_sessions(wh: Warehouse, worker: str, quarter: str) -> pl.DataFrame:
    return wh.frame(
        "select session_id, started_at, ended_at, points, kept_points, round(km, 2) as km, round(hours, 2) as hours "
        "from mart.patrol_sessions where worker_id = ? and quarter = ? order by started_at",
        [worker, quarter],
    )


def session_points(wh: Warehouse, worker: str, session_id: str) -> pl.DataFrame:
    return wh.frame("select lon, lat from mart.patrol_points where worker_id = ? and session_id = ? order by ts", [worker, session_id])


def grid_boundary(wh: Warehouse, grid_code: str) -> pl.DataFrame:
    return wh.frame("select boundary from mart.grid_profile where grid_code = ?", [grid_code])


def worker_visits(wh: Warehouse, worker: str, quarter: str) -> pl.DataFrame:
    start, end = quarter_bounds(quarter)
    return wh.frame(
        "select household_id, visited_at, note from staging.stg_patrols__visits where worker_id = ? "
        "and visited_at >= ? and visited_at < ? order by visited_at",
        [worker, start, end],
    )


# ---------- 人群标签 ----------
def tag_list(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    """Tags and how many people in the scope carry them (from the per-grid counts)."""
    w, p = scope.where(month=None)
    return wh.frame(
        f"select tag, sum(persons) as persons from mart.tag_grid_counts where {w} group by tag order by persons desc, tag", p
    )


@dataclass(frozen=True)
class TagFilter:
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    residence_types: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {
            "AND": list(self.all_of), "OR": list(self.any_of), "NOT": list(self.none_of),
            "age": [self.age_min, self.age_max], "residence": list(self.residence_types),
        }


TAG_WORDS = 8  # person_profile's tag_bits_0 … tag_bits_7


# (warehouse, version) → (tag → (word, bit), (word, bit) → tag)
_DICTIONARIES: dict[tuple[str, str], tuple[dict[str, tuple[int, int]], dict[tuple[int, int], str]]] = {}


def _tag_dictionary(wh: Warehouse, by_place: bool = False) -> dict:
    """``mart.tag_dictionary`` of the version ``wh`` reads — tag → (word, bit), or with ``by_place`` (word, bit) →
    tag —, read once per version (at most 504 rows; a query per tag list cost 0.9 ms, three per filter, twice
    per count and page: 5.4 of the district filter's ms)."""
    wh = wh.pinned()  # the key's version is the one the rows are read from, whoever calls
    key = (str(wh.root), wh.version)
    if key not in _DICTIONARIES:
        rows = wh.rows("select tag, word, bit from mart.tag_dictionary")
        if len(_DICTIONARIES) >= 8:  # a long-running cockpit sees one version after another
            _DICTIONARIES.clear()
        _DICTIONARIES[key] = {tag: (word, bit) for tag, word, bit in rows}, {(word, bit): tag for tag, word, bit in rows}
    return _DICTIONARIES[key][1 if by_place else 0]


def _tag_masks(wh: Warehouse, tags: tuple[str, ...]) -> tuple[dict[int, int], bool]:
    """word → mask of the tags' bits (``mart.tag_dictionary``), and whether every tag is known."""
    if not tags:
        return {}, True
    dictionary = _tag_dictionary(wh)
    masks: dict[int, int] = {}
    for tag in set(tags):
        if tag in dictionary:
            word, bit = dictionary[tag]
            masks[word] = masks.get(word, 0) | (1 << bit)
    return masks, all(tag in dictionary for tag in tags)


def _tag_text(names: dict[tuple[int, int], str], words: list[int | None]) -> str:
    """A person's tags by name from their tag words, in the dictionary's order (it numbers the tags in name
    order); ``names``: ``_tag_dictionary(wh, by_place=True)``."""
    out = []
    for word, value in enumerate(words):
        v = (value or 0) & ((1 << 64) - 1)
        while v:
            low = v & -v
            out.append(names.get((word, low.bit_length() - 1)))
            v ^= low
    return "、".join(t for t in out if t is not None)


def _tag_where(wh: Warehouse, scope: Scope, f: TagFilter) -> tuple[str, list]:
    """The filter as bitwise tests on ``mart.person_profile``'s tag words, one test per word:
    AND and NOT together as ``word & (all | none) = all``, OR as ``(word & any) | (…) <> 0``."""
    w, p = scope.where(month=None)
    conds = [w]
    if f.age_min is not None:
        conds.append("age >= ?")
        p.append(f.age_min)
    if f.age_max is not None:
        conds.append("age <= ?")
        p.append(f.age_max)
    if f.residence_types:
        conds.append(f"residence_type in ({', '.join('?' * len(f.residence_types))})")
        p += list(f.residence_types)
    must, known = _tag_masks(wh, f.all_of)
    if not known:
        conds.append("false")  # a required tag nobody carries
    never, _ = _tag_masks(wh, f.none_of)
    for word in sorted(must.keys() | never.keys()):
        conds.append(f"(tag_bits_{word} & ?) = ?")
        p += [must.get(word, 0) | never.get(word, 0), must.get(word, 0)]
    if f.any_of:
        some, _ = _tag_masks(wh, f.any_of)
        if some:
            conds.append("(" + " | ".join(f"(tag_bits_{word} & ?)" for word in sorted(some)) + ") <> 0")
            p += [some[word] for word in sorted(some)]
        else:
            conds.append("false")
    return " and ".join(conds), p


def tag_filter_count(wh: Warehouse, scope: Scope, f: TagFilter) -> int:
    wh = wh.pinned()  # the masks and the words of one version (``Warehouse.pinned``)
    w, p = _tag_where(wh, scope, f)
    return wh.scalar(f"select count(*) from mart.person_profile where {w}", p)


def tag_filter_by_grid(wh: Warehouse, scope: Scope, f: TagFilter) -> pl.DataFrame:
    wh = wh.pinned()
    w, p = _tag_where(wh, scope, f)
    return wh.frame(
        f"select grid_code, count(*) as persons from mart.person_profile where {w} group by grid_code order by grid_code", p
    )


def tag_filter_list(wh: Warehouse, scope: Scope, f: TagFilter, limit: int = 100, offset: int = 0, unmasked: set[str] = frozenset()) -> pl.DataFrame:
    """Masked person list; ``unmasked`` fields (name, phone) come from the full registry for roles that need them."""
    wh = wh.pinned()  # the masks, the page's words and the names of its tags from one version
    w, p = _tag_where(wh, scope, f)
    name = "persons.name" if "name" in unmasked else "profile.name_masked"
    phone = "persons.phone" if "phone" in unmasked else "profile.phone_masked"
    join = " left join staging.stg_registry__persons as persons on persons.person_key = profile.person_key" if unmasked else ""
    page = wh.frame(
        f"select {name} as name, profile.id_number_masked as id_number, {phone} as phone, profile.gender, profile.age, "
        "profile.household_id, profile.building_code, profile.grid_code, profile.residence_type, "
        + ", ".join(f"profile.tag_bits_{k}" for k in range(TAG_WORDS))
        # person_profile is stored sorted by grid, household, person and DuckDB keeps insertion order
        # when a query has no ORDER BY, so the page is a prefix scan that stops at `limit`, not a sort
        # of every match (12 ms against 85 ms over 1M people); the outer ORDER BY re-sorts the page only
        + f" from (select * from mart.person_profile where {w} limit ? offset ?) as profile"
        f"{join} order by profile.grid_code, profile.household_id, profile.person_key",
        p + [limit, offset],
    )
    # the tags named from the page's own words here (the dictionary read once per version): the same names by a
    # SQL join of each row's words to the dictionary (the tests' oracle) took 10.4 of the district page's 16.7 ms,
    # and an export of all 1M district people takes about 12 s either way
    bits = [f"tag_bits_{k}" for k in range(TAG_WORDS)]
    names = _tag_dictionary(wh, by_place=True)
    tags = [_tag_text(names, list(words)) for words in zip(*(page[b].to_list() for b in bits), strict=True)] if page.height else []
    return page.drop(bits).with_columns(pl.Series("tags", tags, dtype=pl.String))


# ---------- 烦恼指数图 ----------
def grid_map(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(month=None)
    return wh.frame(
        "select g.grid_code, g.grid_name, g.community, g.boundary, g.lon, g.lat, g.residents, g.grid_leader_id, "
        "a.tickets, a.weighted_tickets, a.index, workers.name as grid_leader_name "
        "from mart.grid_profile g "
        "left join mart.annoyance_index a on a.level = 'grid' and a.key = g.grid_code "
        "left join staging.stg_registry__workers workers on workers.worker_id = g.grid_leader_id "
        f"where {w.replace('grid_code', 'g.grid_code').replace('community', 'g.community')} order by g.grid_code",
        p,
    )


def building_map(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(month=None)
    return wh.frame(
        "select b.building_code, b.address, b.grid_code, b.lon, b.lat, b.residents, "
        "coalesce(a.tickets, 0) as tickets, a.index "
        "from mart.building_profile b left join mart.annoyance_index a on a.level = 'building' and a.key = b.building_code "
        f"where b.lon is not null and {w.replace('grid_code', 'b.grid_code').replace('community', 'b.community')}",
        p,
    )


# ---------- 志愿积分 ----------
def volunteer_months(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(grid=None, community=None)
    return wh.frame(f"select * from mart.volunteer_monthly where {w} order by month", p)


def volunteer_top(wh: Warehouse, scope: Scope, limit: int = 20) -> pl.DataFrame:
    w, p = scope.where(month=None)
    inscope = "" if w == "true" else f" where b.person_key in (select person_key from mart.person_profile where {w})"
    return wh.frame(
        "select coalesce(pp.name_masked, '（非辖区）') as name, pp.grid_code, b.earned, b.redeemed, b.balance, "
        "round(b.hours, 1) as hours from mart.volunteer_balance b "
        f"left join mart.person_profile pp on pp.person_key = b.person_key{inscope} "
        "order by b.earned desc, b.hours desc, b.person_key limit ?",
        p + [limit],
    )


def volunteer_summary(wh: Warehouse, scope: Scope) -> dict:
    level, key = "street", None
    if scope.pinned_grid or len(scope.grids) == 1:
        level, key = "grid", scope.pinned_grid or scope.grids[0]
    elif len(scope.communities) == 1:
        level, key = "community", scope.communities[0]
    part = wh.frame(
        "select sum(adults) as adults, sum(participants) as participants, "
        "sum(participants) / nullif(sum(adults), 0) as participation_rate "
        "from mart.volunteer_participation where level = ?" + (" and key = ?" if key else ""),
        [level] + ([key] if key else []),
    ).row(0, named=True)
    bal = wh.frame(
        "select count(*) as volunteers, sum(case when in_registry then 1 else 0 end) as in_registry, "
        "coalesce(sum(balance), 0) as balance, coalesce(sum(overdrawn_redemptions), 0) as overdrawn "
        "from mart.volunteer_balance"
    ).row(0, named=True)
    return {**part, **bal, "level": level}


def volunteer_types(wh: Warehouse) -> pl.DataFrame:
    return wh.frame("select * from mart.volunteer_activity_types order by records desc, activity_type")


def overdrawn(wh: Warehouse, limit: int = 200) -> pl.DataFrame:
    return wh.frame(
        "select coalesce(pp.name_masked, '（非辖区）') as name, b.earned, b.redeemed, b.balance, b.overdrawn_redemptions "
        "from mart.volunteer_balance b left join mart.person_profile pp on pp.person_key = b.person_key "
        "where b.overdrawn_redemptions > 0 order by b.overdrawn_redemptions desc, b.person_key limit ?",
        [limit],
    )


# ---------- 物联感知 ----------
def alarms_daily(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(month="cast(date_trunc('month', day) as date)", community=None)
    return wh.frame(
        "select day, device_type, sum(alarms) as alarms, sum(effective) as effective, sum(false_alarms) as false_alarms, "
        f"sum(faults) as faults from mart.sensor_alarm_daily where {w} group by day, device_type order by day, device_type",
        p,
    )


def alarms_by_grid(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(month="cast(date_trunc('month', day) as date)", community=None)
    return wh.frame(
        "select grid_code, device_type, sum(alarms) as alarms, sum(effective) as effective, "
        f"sum(false_alarms) as false_alarms, sum(faults) as faults from mart.sensor_alarm_daily where {w} "
        "group by grid_code, device_type order by alarms desc, grid_code, device_type",
        p,
    )


def devices_by_type(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    w, p = scope.where(month=None, community=None)
    return wh.frame(
        "select device_type, count(*) as devices, sum(case when online then 1 else 0 end) as online, "
        "sum(alarms_30d) as alarms_30d, sum(faults_30d) as faults_30d "
        f"from mart.device_status where {w} group by device_type order by device_type",
        p,
    )


def whistle_response(wh: Warehouse, scope: Scope) -> pl.DataFrame:
    """数字吹哨: tickets raised by sensors, their response by month (same metric definitions)."""
    return ticket_rollup(wh, scope, by="month", extra_where="source = ?", extra_params=["数字吹哨"])


def care_alerts(wh: Warehouse, scope: Scope, unmasked: set[str] = frozenset()) -> pl.DataFrame:
    w, p = scope.where(month=None)
    wh = wh.pinned()
    masks, known = _tag_masks(wh, ("独居老人",))  # one tag: one word and its bit
    (word, mask), = masks.items() if known else ((0, 0),)
    alone, p_alone = f"(pp.tag_bits_{word} & ?) <> 0", [mask]  # mask 0 (nobody carries it): no row
    name = "persons.name" if "name" in unmasked else "pp.name_masked"
    phone = "persons.phone" if "phone" in unmasked else "pp.phone_masked"
    # the elderly people of the alerted households first (a few hundred rows), then their clear
    # name / phone for the roles that may see them: not a join of the 1M-person registry for everyone
    people = (
        "select pp.*, c.device_id, c.since, c.hours_without_usage from mart.care_alerts c "
        "join mart.person_profile pp on pp.household_id = c.household_id "
        f"where {alone} and {w.replace('grid_code', 'pp.grid_code').replace('community', 'pp.community')}"
    )
    join = " left join staging.stg_registry__persons persons on persons.person_key = pp.person_key" if unmasked else ""
    return wh.frame(
        f"select pp.household_id, pp.device_id, pp.since, round(pp.hours_without_usage, 1) as hours_without_usage, "
        f"pp.building_code, pp.grid_code, {name} as name, {phone} as phone, pp.age "
        f"from ({people}) pp{join} order by pp.hours_without_usage desc, pp.device_id, pp.person_key",
        p_alone + p,
    )

