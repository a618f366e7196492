-- one row per registry person, masked: name as 张*, ID number as first 6 + last 4, phone as 138****5678; age in completed years on the as-of date, where they live
with persons as (
    select * from staging.stg_registry__persons
),

located as (
    select * from intermediate.int_persons_located
),

grids as (
    select grid_code, community from staging.stg_registry__grids
),

masked as (
    select
        persons.person_key,
        left(persons.name, 1) || repeat('*', greatest(length(persons.name) - 1, 1)) as name_masked,
        left(persons.id_number, 6) || repeat('*', length(persons.id_number) - 10) || right(persons.id_number, 4)
            as id_number_masked,
        case when persons.phone is not null
            then left(persons.phone, 3) || '****' || right(persons.phone, 4) end as phone_masked,
        persons.gender,
        located.age,
        persons.household_id,
        located.household_members,
        persons.building_code,
        located.grid_code,
        grids.community,
        persons.residence_type,
        persons.political_status,
    from persons
    inner join located on located.person_key = persons.person_key
    left join grids on grids.grid_code = located.grid_code
)

select * from masked
