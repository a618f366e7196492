-- one row per sensor event (告警, 故障, 心跳, 读数) as loaded
-- materialized: view
with source as (
    select * from raw.sensors__events
)

select * from source
