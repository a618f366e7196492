-- one row per volunteer (person_key): points earned and redeemed, balance, hours, registry membership, overdrawn redemptions
with records as (
    select
        person_key,
        record_id,
        points,
        coalesce(check_out, check_in) as earned_at,
        date_diff('microsecond', check_in, check_out) / 3.6e9 as hours,
    from staging.stg_volunteers__records
),

redemptions as (
    select person_key, redemption_id, points, redeemed_at from staging.stg_volunteers__redemptions
),

-- a person's points in time order: records (+) and redemptions (−); at one moment the records come first, as a
-- record earned by the moment of a redemption counts for it, and redemptions follow in id order. The balance
-- before a redemption is the running sum of the rows before it (a correlated sum per redemption took this
-- model 3.3 s at district scale, the running sum 2.2 s; the same results)
timeline as (
    select person_key, earned_at as moment, 0 as kind, record_id as id, points as change, cast(null as bigint) as redeemed
    from records
    union all
    select person_key, redeemed_at as moment, 1 as kind, redemption_id as id, -points as change, points as redeemed
    from redemptions
),

balanced as (
    select
        person_key,
        moment,
        kind,
        redeemed,
        coalesce(sum(case when moment is not null then change end) over (
            partition by person_key
            order by moment asc nulls last, kind, id
            rows between unbounded preceding and 1 preceding
        ), 0) as balance_before,
    from timeline
),

-- a redemption without a moment has nothing before it
overdrawn as (
    select person_key, count(*) as overdrawn_redemptions
    from balanced
    where kind = 1 and redeemed > case when moment is null then 0 else balance_before end
    group by person_key
),

earned as (
    select person_key, sum(points) as earned, sum(hours) as hours from records group by person_key
),

redeemed as (
    select person_key, sum(points) as redeemed from redemptions group by person_key
),

people as (
    select person_key from records
    union
    select person_key from redemptions
),

balances as (
    select
        people.person_key,
        coalesce(earned.earned, 0) as earned,
        coalesce(redeemed.redeemed, 0) as redeemed,
        coalesce(earned.hours, 0) as hours,
        people.person_key in (select person_key from staging.stg_registry__persons) as in_registry,
        coalesce(overdrawn.overdrawn_redemptions, 0) as overdrawn_redemptions,
    from people
    left join earned on earned.person_key = people.person_key
    left join redeemed on redeemed.person_key = people.person_key
    left join overdrawn on overdrawn.person_key = people.person_key
)

select person_key, earned, redeemed, earned - redeemed as balance, hours, in_registry, overdrawn_redemptions
from balances
