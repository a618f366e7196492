-- one row per volunteer service record (签到/签退 and points earned)
with source as (
    select * from raw.volunteers__records
),

ranked as (
    select
        *,
        row_number() over (
            partition by record_id order by _run_id desc, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
