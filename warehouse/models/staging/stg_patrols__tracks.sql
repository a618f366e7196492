-- one row per GPS point of a worker's patrol track
-- materialized: view
with source as (
    select * from raw.patrols__tracks
)

select * from source
