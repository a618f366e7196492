-- one row per ticket: the version with the latest 更新时间, whatever order the files came in
with source as (
    select * from raw.complaints__tickets
),

ranked as (
    select
        *,
        count(*) over (partition by ticket_id) as versions,
        row_number() over (
            partition by ticket_id
            order by updated_at desc nulls last, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
