-- one row per activity type: activities, sign-ins, distinct participants, points and hours
with activities as (
    select activity_id, activity_type from staging.stg_volunteers__activities
),

records as (
    select
        activity_id,
        person_key,
        points,
        date_diff('microsecond', check_in, check_out) / 3.6e9 as hours,
    from staging.stg_volunteers__records
),

final as (
    select
        activities.activity_type,
        count(distinct activities.activity_id) as activities,
        count(records.person_key) as records,
        count(distinct records.person_key) as participants,
        coalesce(sum(records.points), 0.0) as points_earned,
        coalesce(sum(records.hours), 0.0) as hours,
    from activities
    left join records on records.activity_id = activities.activity_id
    group by activities.activity_type
)

select * from final
