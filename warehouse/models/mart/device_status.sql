-- one row per IoT device: where it is, its last event up to the end of the as-of date, online (an event in the 24 h before that end), alarms and faults in the 30 days ending on the as-of date
with params as (
    select
        cast(as_of + interval 1 day as timestamp) as as_of_end,
        cast(as_of as timestamp) as last_day_start,
        cast(as_of - interval 29 day as timestamp) as window_start,
    from meta.params
),

devices as (
    select * from staging.stg_sensors__devices
),

events as (
    select events.device_id, events.ts, events.event_type, events.disposition
    from staging.stg_sensors__events as events
    cross join params
    where events.ts < params.as_of_end
),

per_device as (
    select
        events.device_id,
        max(events.ts) as last_event_at,
        max(case when events.event_type = '告警' then events.ts end) as last_alarm_at,
        sum(case when events.ts >= params.window_start and events.event_type = '告警' then 1 else 0 end) as alarms_30d,
        sum(case when events.ts >= params.window_start and events.event_type = '告警'
            and events.disposition = '有效' then 1 else 0 end) as effective_30d,
        sum(case when events.ts >= params.window_start and events.event_type = '告警'
            and events.disposition = '误报' then 1 else 0 end) as false_alarms_30d,
        sum(case when events.ts >= params.window_start and events.event_type = '故障' then 1 else 0 end) as faults_30d,
    from events
    cross join params
    group by events.device_id
),

final as (
    select
        devices.device_id,
        devices.device_type,
        devices.grid_code,
        devices.building_code,
        devices.household_id,
        devices.installed_at,
        per_device.last_event_at,
        coalesce(per_device.last_event_at >= params.last_day_start, false) as online,
        per_device.last_alarm_at,
        coalesce(per_device.alarms_30d, 0) as alarms_30d,
        coalesce(per_device.effective_30d, 0) as effective_30d,
        coalesce(per_device.false_alarms_30d, 0) as false_alarms_30d,
        coalesce(per_device.faults_30d, 0) as faults_30d,
    from devices
    cross join params
    left join per_device on per_device.device_id = devices.device_id
)

select * from final
