-- one row per ticket: how many tickets of the same building and category came in [t − N days, t)
with tickets as (
    select ticket_id, building_code, category, reported_at from intermediate.int_tickets_timed
),

params as (
    select repeat_window_days from meta.params
),

earlier as (
    select
        this.ticket_id,
        count(other.ticket_id) as earlier_in_window,
    from tickets as this
    cross join params
    left join tickets as other
        on other.building_code = this.building_code
        and other.category = this.category
        and other.ticket_id <> this.ticket_id
        and other.reported_at >= this.reported_at - to_days(params.repeat_window_days)
        and other.reported_at < this.reported_at
    group by this.ticket_id
)

select ticket_id, earlier_in_window, earlier_in_window > 0 as is_repeat from earlier
