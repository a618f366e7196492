-- one row per grid: community, centre and boundary, residents, households, buildings, key groups as of the as-of date, its 网格长
with grids as (
    select * from staging.stg_registry__grids
),

persons as (
    select person_key, household_id, grid_code from intermediate.int_persons_located
),

tags as (
    select person_key, tag from mart.person_tags
),

buildings as (
    select grid_code, count(*) as buildings from staging.stg_registry__buildings group by grid_code
),

leaders as (
    select grid_code, min(worker_id) as grid_leader_id
    from staging.stg_registry__workers
    where post = '网格长'
    group by grid_code
),

workers as (
    select grid_code, count(*) as grid_workers
    from staging.stg_registry__workers
    where post in ('网格长', '网格员')
    group by grid_code
),

residents as (
    select grid_code, count(*) as residents, count(distinct household_id) as households
    from persons
    group by grid_code
),

key_groups as (
    select
        persons.grid_code,
        count(distinct case when tags.tag = '独居老人' then persons.person_key end) as elderly_alone,
        count(distinct case when tags.tag = '80岁以上' then persons.person_key end) as over_80,
        count(distinct case when tags.tag = '60岁以上' then persons.person_key end) as over_60,
        count(distinct case when tags.tag = '残疾人' then persons.person_key end) as disabled,
        count(distinct case when tags.tag = '未成年人' then persons.person_key end) as minors,
        count(distinct case when tags.tag = '党员' then persons.person_key end) as party_members,
    from persons
    inner join tags on tags.person_key = persons.person_key
    group by persons.grid_code
),

final as (
    select
        grids.grid_code,
        grids.grid_name,
        grids.community,
        grids.street,
        grids.lon,
        grids.lat,
        grids.boundary,
        coalesce(residents.residents, 0) as residents,
        coalesce(residents.households, 0) as households,
        coalesce(buildings.buildings, 0) as buildings,
        coalesce(key_groups.elderly_alone, 0) as elderly_alone,
        coalesce(key_groups.over_80, 0) as over_80,
        coalesce(key_groups.over_60, 0) as over_60,
        coalesce(key_groups.disabled, 0) as disabled,
        coalesce(key_groups.minors, 0) as minors,
        coalesce(key_groups.party_members, 0) as party_members,
        leaders.grid_leader_id,
        coalesce(workers.grid_workers, 0) as grid_workers,
    from grids
    left join residents on residents.grid_code = grids.grid_code
    left join buildings on buildings.grid_code = grids.grid_code
    left join key_groups on key_groups.grid_code = grids.grid_code
    left join leaders on leaders.grid_code = grids.grid_code
    left join workers on workers.grid_code = grids.grid_code
)

select * from final
