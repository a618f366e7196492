-- one row per household visit (入户走访)
with source as (
    select * from raw.patrols__visits
)

select * from source
