"""Lists that page by the order a mart is stored in (a prefix scan instead of a sort, SPEC §9) must
equal the page of an explicit ORDER BY, so a build that stopped sorting the table fails here."""

from datetime import date

from cockpit import queries as q
from cockpit.data import Warehouse
from warehouse.metrics import SLA_BREACH


def test_people_pages_follow_person_profile_order(demo_run):
    """The list pages by the order person_profile is stored in; every page must equal the page of
    an explicit sort, so a build that stopped sorting the table would fail here."""
    settings, _, _ = demo_run
    w = Warehouse(settings.warehouse)
    f = q.TagFilter(any_of=("60岁以上", "党员"))
    n = q.tag_filter_count(w, q.Scope(), f)
    assert n > 300
    w_, p = q._tag_where(w, q.Scope(), f)
    for offset in (0, 100, n - 50):
        page = q.tag_filter_list(w, q.Scope(), f, limit=100, offset=offset)
        sorted_page = w.frame(
            "select household_id, id_number_masked as id_number from mart.person_profile "
            f"where {w_} order by grid_code, household_id, person_key limit 100 offset ?",
            p + [offset],
        )
        assert page.select("household_id", "id_number").rows() == sorted_page.rows()
        assert page.height == min(100, n - offset)


def test_sla_breach_list_is_the_newest_breaches(demo_run):
    settings, _, _ = demo_run
    w = Warehouse(settings.warehouse)
    months = q.months(w)
    for s in (q.Scope(months[-3], months[-1]), q.Scope(months[0], months[-1], pinned_grid="G001"), q.Scope(date(2026, 1, 1), date(2026, 1, 1))):
        n, rows = q.sla_breaches(w, s, limit=300)
        where, p = s.where()
        assert n == w.scalar(f"select count(*) from mart.ticket_facts where {where} and ({SLA_BREACH})", p)
        expected = w.frame(
            f"select ticket_id from mart.ticket_facts where {where} and ({SLA_BREACH}) order by reported_at desc, ticket_id limit 300", p
        )
        assert n > 0 and rows["ticket_id"].to_list() == expected["ticket_id"].to_list()
