-- one row per ticket (its newest version) reported up to the end of the as-of date; stored newest first (reported_at desc, ticket_id)
-- stored plain: ticket_id
with timed as (
    select * from intermediate.int_tickets_timed
),

repeated as (
    select ticket_id, is_repeat from intermediate.int_tickets_repeated
),

facts as (
    select
        timed.ticket_id,
        timed.source,
        timed.category,
        timed.urgency,
        timed.building_code,
        timed.grid_code,
        timed.community,
        timed.handler_id,
        timed.reported_at,
        timed.resolved_at,
        timed.month,
        timed.quarter,
        timed.response_hours,
        timed.resolution_hours,
        coalesce(timed.response_hours <= timed.response_sla_hours, false) as responded_on_time,
        coalesce(timed.resolution_hours <= timed.resolution_sla_hours, false) as resolved_on_time,
        case
            when timed.satisfaction in ('满意', '基本满意') then true
            when timed.satisfaction = '不满意' then false
        end as satisfied,
        repeated.is_repeat,
    from timed
    left join repeated on repeated.ticket_id = timed.ticket_id
)

select * from facts order by reported_at desc, ticket_id
