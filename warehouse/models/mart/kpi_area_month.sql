-- one row per street or community and month of 上报时间: the same ticket KPIs as mart.kpi_grid_month (metrics from warehouse/metrics.py)
with facts as (
    select
        ticket_facts.*,
        grids.street,
    from mart.ticket_facts as ticket_facts
    left join staging.stg_registry__grids as grids on grids.grid_code = ticket_facts.grid_code
),

by_street as (
    select
        'street' as level,
        street as key,
        month,
        /* metrics:ticket */,
    from facts
    group by street, month
),

by_community as (
    select
        'community' as level,
        community as key,
        month,
        /* metrics:ticket */,
    from facts
    group by community, month
)

select * from by_street
union all
select * from by_community
