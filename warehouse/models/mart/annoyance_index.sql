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

grid_rows as (
    select
        'grid' as level,
        grids.grid_code as key,
        (select count(*) from persons where persons.grid_code = grids.grid_code) as residents,
        (select count(*) from in_window where in_window.grid_code = grids.grid_code) as tickets,
        (select coalesce(sum(weight), 0) from in_window where in_window.grid_code = grids.grid_code)
            as weighted_tickets,
    from staging.stg_registry__grids as grids
),

building_rows as (
    select
        'building' as level,
        buildings.building_code as key,
        (select count(*) from persons where persons.building_code = buildings.building_code) as residents,
        (select count(*) from in_window where in_window.building_code = buildings.building_code) as tickets,
        (select coalesce(sum(weight), 0) from in_window where in_window.building_code = buildings.building_code)
            as weighted_tickets,
    from staging.stg_registry__buildings as buildings
),

indexed as (
    select
        level,
        key,
        (select as_of from params) as window_end,
        residents,
        tickets,
        weighted_tickets,
        1000.0 * weighted_tickets / nullif(residents, 0) as index,
    from (select * from grid_rows union all select * from building_rows)
)

select * from indexed
