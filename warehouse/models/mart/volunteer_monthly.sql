-- one row per month with volunteer activity or redemptions: records, participants (all and in the registry), points earned and redeemed, hours
with records as (
    select
        cast(date_trunc('month', check_in) as date) as month,
        person_key,
        points,
        date_diff('microsecond', check_in, check_out) / 3.6e9 as hours,
    from staging.stg_volunteers__records
),

redemptions as (
    select cast(date_trunc('month', redeemed_at) as date) as month, points
    from staging.stg_volunteers__redemptions
),

registry as (
    select person_key from staging.stg_registry__persons
),

earned as (
    select
        records.month,
        count(*) as records,
        count(distinct records.person_key) as participants,
        count(distinct registry.person_key) as registry_participants,
        sum(records.points) as points_earned,
        coalesce(sum(records.hours), 0.0) as hours,
    from records
    left join registry on registry.person_key = records.person_key
    group by records.month
),

spent as (
    select month, count(*) as redemptions, sum(points) as points_redeemed
    from redemptions
    group by month
),

months as (
    select month from earned
    union
    select month from spent
),

final as (
    select
        months.month,
        coalesce(earned.records, 0) as records,
        coalesce(earned.participants, 0) as participants,
        coalesce(earned.registry_participants, 0) as registry_participants,
        coalesce(earned.points_earned, 0.0) as points_earned,
        coalesce(earned.hours, 0.0) as hours,
        coalesce(spent.redemptions, 0) as redemptions,
        coalesce(spent.points_redeemed, 0.0) as points_redeemed,
    from months
    left join earned on earned.month = months.month
    left join spent on spent.month = months.month
)

select * from final
