-- one row per points redemption
with source as (
    select * from raw.volunteers__redemptions
),

ranked as (
    select
        *,
        row_number() over (
            partition by redemption_id order by _run_id desc, _file_hash desc, _row desc
        ) as version_rank,
    from source
)

select * exclude (version_rank) from ranked where version_rank = 1
