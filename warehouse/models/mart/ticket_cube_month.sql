-- one row per month, grid, channel (来源), category and urgency: ticket counts that add up to any roll-up's rates
with facts as (
    select * from mart.ticket_facts
),

cube as (
    select
        month,
        grid_code,
        community,
        source,
        category,
        urgency,
        /* metrics:ticket_counts */,
        sum(response_hours) as response_hours_sum,
    from facts
    group by month, grid_code, community, source, category, urgency
)

select * from cube
