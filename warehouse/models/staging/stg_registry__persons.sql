-- one row per registry person (normalised ID number): the version with the latest 更新时间
with source as (
    select * from raw.registry__persons
),

ranked as (
    select
        *,
        row_number() over (
            partition by id_number
            order by updated_at desc nulls last, _run_id desc, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
