-- one row per building: address, estate, grid, community, position, registry residents and households
with buildings as (
    select * from staging.stg_registry__buildings
),

grids as (
    select grid_code, community from staging.stg_registry__grids
),

residents as (
    select building_code, count(*) as residents, count(distinct household_id) as households
    from staging.stg_registry__persons
    group by building_code
),

final as (
    select
        buildings.building_code,
        buildings.address,
        buildings.estate,
        buildings.grid_code,
        grids.community,
        buildings.lon,
        buildings.lat,
        coalesce(residents.residents, 0) as residents,
        coalesce(residents.households, 0) as households,
    from buildings
    left join grids on grids.grid_code = buildings.grid_code
    left join residents on residents.building_code = buildings.building_code
)

select * from final
