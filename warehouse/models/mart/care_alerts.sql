-- one row per household with a 独居老人 whose water meter has not increased for 24 h or more at its latest reading
with params as (
    select as_of from meta.params
),

elderly_alone_households as (
    select distinct persons.household_id
    from mart.person_tags as tags
    join staging.stg_registry__persons as persons on persons.person_key = tags.person_key
    where tags.tag = '独居老人'
),

-- only those households' meters are read: the window below sorts every reading it is given
care_meters as (
    select device_id, household_id from staging.stg_sensors__devices
    where device_type = '水表' and household_id in (select household_id from elderly_alone_households)
),

readings as (
    select events.device_id, events.ts, events.value
    from staging.stg_sensors__events as events
    join care_meters on care_meters.device_id = events.device_id
    where events.event_type = '读数' and events.value is not null
),

stepped as (
    select
        readings.*,
        lag(value) over (partition by device_id order by ts, value) as previous_value,
    from readings
    cross join params
    where readings.ts < cast(params.as_of + interval 1 day as timestamp)
),

per_meter as (
    select
        device_id,
        max(ts) as latest_at,
        coalesce(max(case when value > previous_value then ts end), min(ts)) as since,
    from stepped
    group by device_id
),

alerts as (
    select
        care_meters.household_id,
        per_meter.device_id,
        per_meter.since,
        date_diff('microsecond', per_meter.since, per_meter.latest_at) / 3.6e9 as hours_without_usage,
    from per_meter
    join care_meters on care_meters.device_id = per_meter.device_id
)

select * from alerts where hours_without_usage >= 24
