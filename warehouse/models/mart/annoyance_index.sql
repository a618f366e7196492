-- one row per grid and per building: 烦恼指数 = 1000 × Σ(category weight × tickets) / residents over the window ending on the as-of date
with tickets as (
    select * from mart.ticket_facts
),

persons as (
    select building_code, grid_code from intermediate.int_persons_located
),

params as (
    select as_of, annoyance_window_days from meta.params
),

weights as (
    select * from meta.category_weights
),

in_window as (
    select tickets.grid_code, tickets.building_code, coalesce(weights.weight, 1.0) as weight
    from tickets
    cross join params
    left join weights on weights.category = tickets.category
    where tickets.reported_at >= cast(params.as_of - to_days(params.annoyance_window_days - 1) as timestamp)
        and tickets.reported_at < cast(params.as_of + interval 1 day as timestamp)
),

-- the same sums at both levels: each unit (grid, building), its residents and its tickets
units as (
    select 'grid' as level, grid_code as key from staging.stg_registry__grids
    union all
    select 'building' as level, building_code as key from staging.stg_registry__buildings
),

residents as (
    select level, key, count(*) as residents
    from (
        select 'grid' as level, grid_code as key from persons
        union all
        select 'building' as level, building_code as key from persons
    )
    group by level, key
),

loads as (
    select level, key, count(*) as tickets, sum(weight) as weighted_tickets
    from (
        select 'grid' as level, grid_code as key, weight from in_window
        union all
        select 'building' as level, building_code as key, weight from in_window
    )
    group by level, key
),

indexed as (
    select
        units.level,
        units.key,
        params.as_of as window_end,
        coalesce(residents.residents, 0) as residents,
        coalesce(loads.tickets, 0) as tickets,
        coalesce(loads.weighted_tickets, 0) as weighted_tickets,
        1000.0 * coalesce(loads.weighted_tickets, 0) / nullif(residents.residents, 0) as index,
    from units
    cross join params
    left join residents on residents.level = units.level and residents.key = units.key
    left join loads on loads.level = units.level and loads.key = units.key
)

select * from indexed order by level desc, key
