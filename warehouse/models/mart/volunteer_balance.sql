-- one row per volunteer (person_key): points earned and redeemed, balance, hours, registry membership, overdrawn redemptions
with records as (
    select
        person_key,
        points,
        coalesce(check_out, check_in) as earned_at,
        date_diff('microsecond', check_in, check_out) / 3.6e9 as hours,
    from staging.stg_volunteers__records
),

redemptions as (
    select person_key, redemption_id, points, redeemed_at from staging.stg_volunteers__redemptions
),

registry as (
    select person_key from staging.stg_registry__persons
),

redemption_balance as (
    select
        redemptions.person_key,
        redemptions.redemption_id,
        redemptions.points,
        (select coalesce(sum(records.points), 0) from records
            where records.person_key = redemptions.person_key and records.earned_at <= redemptions.redeemed_at)
        - (select coalesce(sum(earlier.points), 0) from redemptions as earlier
            where earlier.person_key = redemptions.person_key
                and (earlier.redeemed_at < redemptions.redeemed_at
                    or (earlier.redeemed_at = redemptions.redeemed_at and earlier.redemption_id < redemptions.redemption_id)))
            as balance_before,
    from redemptions
),

people as (
    select person_key from records
    union
    select person_key from redemptions
),

balances as (
    select
        people.person_key,
        coalesce((select sum(points) from records where records.person_key = people.person_key), 0) as earned,
        coalesce((select sum(points) from redemptions where redemptions.person_key = people.person_key), 0) as redeemed,
        coalesce((select sum(hours) from records where records.person_key = people.person_key), 0) as hours,
        people.person_key in (select person_key from registry) as in_registry,
        (select count(*) from redemption_balance as rb
            where rb.person_key = people.person_key and rb.points > rb.balance_before) as overdrawn_redemptions,
    from people
)

select person_key, earned, redeemed, earned - redeemed as balance, hours, in_registry, overdrawn_redemptions
from balances
