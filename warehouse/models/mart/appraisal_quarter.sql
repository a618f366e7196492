-- one row per quarter and grid worker (网格长/网格员): the §4 indicators, their 0–100 scores, the weighted score and rank; frozen quarters come from their snapshot
with params as (
    select
        *,
        cast(as_of + interval 1 day as timestamp) as as_of_end,
    from meta.params
),

cohort as (
    select worker_id, grid_code
    from staging.stg_registry__workers
    where post in ('网格长', '网格员')
),

tickets as (
    select * from intermediate.int_tickets_timed
),

sessions as (
    select * from mart.patrol_sessions
),

visits as (
    select visits.worker_id, visits.household_id, visits.visited_at
    from staging.stg_patrols__visits as visits
    cross join params
    where visits.visited_at < params.as_of_end
),

handled as (
    select
        cast(year(tickets.resolved_at) as varchar) || 'Q' || cast(quarter(tickets.resolved_at) as varchar)
            as quarter,
        tickets.handler_id as worker_id,
        count(*) as tickets_handled,
        sum(case when tickets.resolution_hours <= tickets.resolution_sla_hours then 1 else 0 end)
            / count(*) as on_time_rate,
        sum(case when tickets.satisfaction in ('满意', '基本满意') then 1 else 0 end)
            / nullif(count(tickets.satisfaction), 0) as satisfaction_rate,
        median(tickets.response_hours) as median_response_hours,
    from tickets
    cross join params
    where tickets.resolved_at < params.as_of_end
    group by all
),

patrolled as (
    select
        quarter,
        worker_id,
        count(*) as patrol_sessions,
        sum(km) as patrol_km,
        sum(hours) as patrol_hours,
    from sessions
    group by all
),

visited as (
    select
        cast(year(visited_at) as varchar) || 'Q' || cast(quarter(visited_at) as varchar) as quarter,
        worker_id,
        count(distinct household_id) as households_visited,
    from visits
    group by all
),

quarters as (
    select
        quarters.quarter,
        cast(quarters.quarter_start as timestamp) as quarter_start,
        -- overdue is judged at the quarter end, or at the end of the as-of date for the current quarter
        least(cast(quarters.quarter_start + interval 3 month as timestamp), params.as_of_end) as judged_at,
    from (
        select
            quarter,
            make_date(cast(left(quarter, 4) as integer), cast(right(quarter, 1) as integer) * 3 - 2, 1)
                as quarter_start,
        from (
            select quarter from handled
            union
            select quarter from patrolled
            union
            select quarter from visited
        ) as q
    ) as quarters
    cross join params
),

overdue as (
    select
        quarters.quarter,
        tickets.handler_id as worker_id,
        count(*) as overdue_open,
    from quarters
    inner join tickets
        on tickets.reported_at < quarters.judged_at
        and (tickets.resolved_at is null or tickets.resolved_at >= quarters.judged_at)
        and date_diff('microsecond', tickets.reported_at, quarters.judged_at) / 3.6e9
            > tickets.resolution_sla_hours
    where tickets.handler_id is not null
    group by all
),

indicators as (
    select
        quarters.quarter,
        cohort.worker_id,
        cohort.grid_code,
        coalesce(handled.tickets_handled, 0) as tickets_handled,
        handled.on_time_rate,
        handled.satisfaction_rate,
        handled.median_response_hours,
        coalesce(patrolled.patrol_sessions, 0) as patrol_sessions,
        coalesce(patrolled.patrol_km, 0.0) as patrol_km,
        coalesce(patrolled.patrol_hours, 0.0) as patrol_hours,
        coalesce(visited.households_visited, 0) as households_visited,
        coalesce(overdue.overdue_open, 0) as overdue_open,
    from quarters
    cross join cohort
    left join handled on handled.quarter = quarters.quarter and handled.worker_id = cohort.worker_id
    left join patrolled on patrolled.quarter = quarters.quarter and patrolled.worker_id = cohort.worker_id
    left join visited on visited.quarter = quarters.quarter and visited.worker_id = cohort.worker_id
    left join overdue on overdue.quarter = quarters.quarter and overdue.worker_id = cohort.worker_id
),

scored as (
    select
        indicators.*,
        /* appraisal:scores */,
    from indicators
),

weights as (
    select
        /* appraisal:weights */,
    from meta.appraisal_weights
),

weighted as (
    select
        scored.*,
        /* appraisal:score */ as score,
    from scored
    cross join weights
),

live as (
    select
        weighted.*,
        rank() over (partition by weighted.quarter order by weighted.score desc) as rank,
        false as frozen,
    from weighted
    where weighted.quarter not in (select quarter from meta.appraisal_frozen)
),

frozen as (
    select * from meta.appraisal_frozen
)

select * from live
union all
select * from frozen
