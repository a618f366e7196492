-- one row per grid and month of 上报时间: ticket counts and the §4 rates (metrics from warehouse/metrics.py)
with facts as (
    select * from mart.ticket_facts
),

by_grid_month as (
    select
        grid_code,
        month,
        /* metrics:ticket */,
    from facts
    group by grid_code, month
)

select * from by_grid_month
