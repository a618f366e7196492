-- one row per registry person: building, grid, household size and age in completed years on the as-of date
with persons as (
    select * from staging.stg_registry__persons
),

buildings as (
    select building_code, grid_code from staging.stg_registry__buildings
),

params as (
    select as_of from meta.params
),

households as (
    select household_id, count(*) as household_members from persons group by household_id
),

located as (
    select
        persons.person_key,
        persons.household_id,
        persons.building_code,
        buildings.grid_code,
        persons.residence_type,
        persons.tags,
        persons.birth_date,
        households.household_members,
        year(params.as_of) - year(persons.birth_date)
            - case
                when month(params.as_of) < month(persons.birth_date)
                    or (month(params.as_of) = month(persons.birth_date) and day(params.as_of) < day(persons.birth_date))
                then 1 else 0
            end as age,
    from persons
    cross join params
    left join buildings on buildings.building_code = persons.building_code
    left join households on households.household_id = persons.household_id
)

select * from located
