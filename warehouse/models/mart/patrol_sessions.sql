-- one row per patrol session of a worker (points split at gaps over 30 minutes): start, end, kept points, km, hours, quarter of its first kept point
with points as (
    select * from intermediate.int_patrol_points
),

workers as (
    select worker_id, grid_code from staging.stg_registry__workers
),

sessions as (
    select
        worker_id,
        session_id,
        min(case when kept then ts end) as started_at,
        max(case when kept then ts end) as ended_at,
        count(*) as points,
        sum(case when kept then 1 else 0 end) as kept_points,
        sum(case when kept then km_from_previous else 0 end) as km,
    from points
    group by worker_id, session_id
),

final as (
    select
        sessions.session_id,
        sessions.worker_id,
        workers.grid_code,
        sessions.started_at,
        sessions.ended_at,
        cast(year(sessions.started_at) as varchar) || 'Q' || cast(quarter(sessions.started_at) as varchar)
            as quarter,
        sessions.points,
        sessions.kept_points,
        sessions.km,
        date_diff('microsecond', sessions.started_at, sessions.ended_at) / 3.6e9 as hours,
    from sessions
    left join workers on workers.worker_id = sessions.worker_id
)

select * from final
