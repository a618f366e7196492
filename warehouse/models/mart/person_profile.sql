-- one row per registry person, masked: name as 张*, ID number as first 6 + last 4, phone as 138****5678; age in completed years on the as-of date, where they live;
-- tags as 8 words of 63 bits (mart.tag_dictionary says which bit), so a tag filter is a few bitwise tests per row; sorted by grid, household
-- (the tags' names are read from the bits when a list is shown: cockpit/queries.py PROFILE_TAGS. Naming every
-- person's tags here, a sorted distinct list per person, took 5.5 of this model's 9.5 s at district scale)
with persons as (
    select * from staging.stg_registry__persons
),

located as (
    select * from intermediate.int_persons_located
),

grids as (
    select grid_code, community from staging.stg_registry__grids
),

-- a tag held twice (registered, and derived as of the date) sets its bit twice: bit_or keeps one
tag_words as (
    select
        tags.person_key,
        bit_or(case when dictionary.word = 0 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_0,
        bit_or(case when dictionary.word = 1 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_1,
        bit_or(case when dictionary.word = 2 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_2,
        bit_or(case when dictionary.word = 3 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_3,
        bit_or(case when dictionary.word = 4 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_4,
        bit_or(case when dictionary.word = 5 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_5,
        bit_or(case when dictionary.word = 6 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_6,
        bit_or(case when dictionary.word = 7 then cast(1 as bigint) << dictionary.bit else cast(0 as bigint) end) as tag_bits_7,
    from mart.person_tags as tags
    join mart.tag_dictionary as dictionary on dictionary.tag = tags.tag
    group by tags.person_key
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
        coalesce(tag_words.tag_bits_0, 0) as tag_bits_0,
        coalesce(tag_words.tag_bits_1, 0) as tag_bits_1,
        coalesce(tag_words.tag_bits_2, 0) as tag_bits_2,
        coalesce(tag_words.tag_bits_3, 0) as tag_bits_3,
        coalesce(tag_words.tag_bits_4, 0) as tag_bits_4,
        coalesce(tag_words.tag_bits_5, 0) as tag_bits_5,
        coalesce(tag_words.tag_bits_6, 0) as tag_bits_6,
        coalesce(tag_words.tag_bits_7, 0) as tag_bits_7,
    from persons
    inner join located on located.person_key = persons.person_key
    left join grids on grids.grid_code = located.grid_code
    left join tag_words on tag_words.person_key = persons.person_key
)

select * from masked order by grid_code, household_id, person_key
