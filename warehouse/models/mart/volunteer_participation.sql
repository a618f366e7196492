-- one row per street, community and grid: adult residents, registry residents with a volunteer record in the 12 months before the as-of date, participation rate
with persons as (
    select person_key, grid_code, age from intermediate.int_persons_located
),

grids as (
    select grid_code, community, street from staging.stg_registry__grids
),

active as (
    select person_key from intermediate.int_volunteers_recent
),

adults as (
    select
        persons.person_key,
        persons.grid_code,
        grids.community,
        grids.street,
        case when active.person_key is null then 0 else 1 end as is_active,
    from persons
    left join grids on grids.grid_code = persons.grid_code
    left join active on active.person_key = persons.person_key
    where persons.age >= 18
),

levels as (
    select 'street' as level, street as key, count(*) as adults, sum(is_active) as participants
    from adults group by street
    union all
    select 'community', community, count(*), sum(is_active) from adults group by community
    union all
    select 'grid', grid_code, count(*), sum(is_active) from adults group by grid_code
)

select
    level,
    key,
    adults,
    participants,
    participants / nullif(adults, 0) as participation_rate,
from levels
