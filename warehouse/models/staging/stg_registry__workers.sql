-- one row per worker: the newest loaded version
with source as (
    select * from raw.registry__workers
),

ranked as (
    select
        *,
        row_number() over (
            partition by worker_id order by _run_id desc, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
