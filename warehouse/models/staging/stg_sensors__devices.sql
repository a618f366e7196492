-- one row per IoT device, its grid resolved from 网格编码 or its building
with source as (
    select * from raw.sensors__devices
),

ranked as (
    select
        *,
        row_number() over (
            partition by device_id order by _run_id desc, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
