-- one row per day, grid and device type with an alarm or fault: alarms, 有效 / 误报, faults
with events as (
    select device_id, ts, event_type, disposition from staging.stg_sensors__events
    where event_type in ('告警', '故障')
),

devices as (
    select device_id, device_type, grid_code from staging.stg_sensors__devices
),

daily as (
    select
        cast(events.ts as date) as day,
        devices.grid_code,
        devices.device_type,
        sum(case when events.event_type = '告警' then 1 else 0 end) as alarms,
        sum(case when events.event_type = '告警' and events.disposition = '有效' then 1 else 0 end) as effective,
        sum(case when events.event_type = '告警' and events.disposition = '误报' then 1 else 0 end) as false_alarms,
        sum(case when events.event_type = '故障' then 1 else 0 end) as faults,
    from events
    join devices on devices.device_id = events.device_id
    group by cast(events.ts as date), devices.grid_code, devices.device_type
)

select * from daily
