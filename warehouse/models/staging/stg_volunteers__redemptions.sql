-- one row per points redemption
-- the raw ID number (id_number) stays in raw; staging keeps its keyed hash (person_key) only, so it holds no
-- person-identifying column and is built straight into the analytics file (warehouse/build.py)
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

select * exclude (version_rank, id_number) from ranked where version_rank = 1
