-- one row per grid and tag: how many people of the grid carry the tag (the tag list of 人群标签 for any set of grids)
with profile as (
    select located.person_key, located.grid_code, grids.community
    from intermediate.int_persons_located as located
    left join staging.stg_registry__grids as grids on grids.grid_code = located.grid_code
),

tags as (
    select distinct person_key, tag from mart.person_tags
),

counted as (
    select profile.grid_code, profile.community, tags.tag, count(*) as persons
    from tags
    join profile on profile.person_key = tags.person_key
    group by profile.grid_code, profile.community, tags.tag
)

select * from counted order by grid_code, tag
