-- one row per building and category with a repeat ticket in the annoyance window (the N dates ending on the as-of date): tickets, repeats, last report
with params as (
    select
        cast(as_of - to_days(annoyance_window_days - 1) as timestamp) as window_start,
    from meta.params
),

facts as (
    select ticket_facts.*
    from mart.ticket_facts as ticket_facts
    cross join params
    where ticket_facts.reported_at >= params.window_start and ticket_facts.building_code is not null
),

hotspots as (
    select
        building_code,
        grid_code,
        community,
        category,
        count(*) as tickets,
        sum(case when is_repeat then 1 else 0 end) as repeats,
        max(reported_at) as last_reported_at,
    from facts
    group by building_code, grid_code, community, category
    having sum(case when is_repeat then 1 else 0 end) > 0
)

select * from hotspots
