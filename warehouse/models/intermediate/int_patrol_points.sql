-- one row per GPS point of a worker's patrol up to the end of the as-of date: its session, whether it is kept, km from the previous kept point
with recursive params as (
    select * from meta.params
),

points as (
    select tracks.worker_id, tracks.ts, tracks.lon, tracks.lat, tracks._file_hash, tracks._row
    from staging.stg_patrols__tracks as tracks
    cross join params
    where tracks.ts < cast(params.as_of + interval 1 day as timestamp)
),

ordered as (
    select
        points.*,
        lag(points.ts) over (
            partition by points.worker_id order by points.ts, points._file_hash, points._row
        ) as previous_ts,
        row_number() over (
            partition by points.worker_id order by points.ts, points._file_hash, points._row
        ) as point_seq,
    from points
),

-- a gap over patrol_gap_minutes between consecutive points (all points, kept or not) starts a session
sessioned as (
    select
        ordered.*,
        sum(
            case
                when ordered.previous_ts is null then 1
                when date_diff('microsecond', ordered.previous_ts, ordered.ts) > params.patrol_gap_minutes * 6e7
                    then 1
                else 0
            end
        ) over (
            partition by ordered.worker_id order by ordered.point_seq rows between unbounded preceding and current row
        ) as session_no,
    from ordered
    cross join params
),

positioned as (
    select
        sessioned.*,
        row_number() over (
            partition by sessioned.worker_id, sessioned.session_no order by sessioned.point_seq
        ) as pos,
        lag(sessioned.lon) over (
            partition by sessioned.worker_id, sessioned.session_no order by sessioned.point_seq
        ) as previous_lon,
        lag(sessioned.lat) over (
            partition by sessioned.worker_id, sessioned.session_no order by sessioned.point_seq
        ) as previous_lat,
    from sessioned
),

-- great-circle km (haversine, warehouse/build.py) and implied speed from the previous point of the session
stepped as (
    select
        positioned.*,
        /* haversine_km(positioned.previous_lat, positioned.previous_lon, positioned.lat, positioned.lon) */ as step_km,
        date_diff('microsecond', positioned.previous_ts, positioned.ts) / 3.6e9 as step_hours,
    from positioned
),

too_fast as (
    select
        stepped.*,
        coalesce(
            stepped.step_km > params.patrol_max_speed_kmh * stepped.step_hours, false
        ) as is_too_fast,
    from stepped
    cross join params
),

-- sessions with a too-fast step need the sequential walk: a point is dropped when its speed
-- from the previous *kept* point is too high, so one dropped point changes the next point's test
walk_sessions as (
    select worker_id, session_no
    from too_fast
    group by worker_id, session_no
    having max(case when is_too_fast then 1 else 0 end) = 1
),

walk_points as (
    select too_fast.worker_id, too_fast.session_no, too_fast.pos, too_fast.ts, too_fast.lon, too_fast.lat
    from too_fast
    inner join walk_sessions
        on walk_sessions.worker_id = too_fast.worker_id and walk_sessions.session_no = too_fast.session_no
),

walk as (
    select
        worker_id, session_no, pos, true as kept,
        ts as kept_ts, lon as kept_lon, lat as kept_lat,
    from walk_points
    where pos = 1
    union all
    select
        nxt.worker_id, nxt.session_no, nxt.pos,
        nxt.km <= params.patrol_max_speed_kmh * nxt.hours as kept,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.ts else nxt.kept_ts end,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.lon else nxt.kept_lon end,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.lat else nxt.kept_lat end,
    from (
        select
            walk_points.*,
            walk.kept_ts, walk.kept_lon, walk.kept_lat,
            /* haversine_km(walk.kept_lat, walk.kept_lon, walk_points.lat, walk_points.lon) */ as km,
            date_diff('microsecond', walk.kept_ts, walk_points.ts) / 3.6e9 as hours,
        from walk
        inner join walk_points
            on walk_points.worker_id = walk.worker_id
            and walk_points.session_no = walk.session_no
            and walk_points.pos = walk.pos + 1
    ) as nxt
    cross join params
),

flagged as (
    select
        too_fast.worker_id, too_fast.session_no, too_fast.pos, too_fast.point_seq,
        too_fast.ts, too_fast.lon, too_fast.lat,
        coalesce(walk.kept, true) as kept,
    from too_fast
    left join walk
        on walk.worker_id = too_fast.worker_id
        and walk.session_no = too_fast.session_no
        and walk.pos = too_fast.pos
),

kept_steps as (
    select
        flagged.*,
        lag(flagged.lon) over (
            partition by flagged.worker_id, flagged.session_no order by flagged.pos
        ) as kept_previous_lon,
        lag(flagged.lat) over (
            partition by flagged.worker_id, flagged.session_no order by flagged.pos
        ) as kept_previous_lat,
    from flagged
    where flagged.kept
),

measured as (
    select
        kept_steps.worker_id, kept_steps.session_no, kept_steps.pos, kept_steps.ts,
        coalesce(
            /* haversine_km(kept_steps.kept_previous_lat, kept_steps.kept_previous_lon, kept_steps.lat, kept_steps.lon) */,
            0.0
        ) as km_from_previous,
    from kept_steps
),

final as (
    select
        flagged.worker_id,
        flagged.worker_id || '-' || cast(flagged.session_no as varchar) as session_id,
        flagged.session_no,
        flagged.pos,
        flagged.ts,
        flagged.lon,
        flagged.lat,
        flagged.kept,
        measured.km_from_previous,
    from flagged
    left join measured
        on measured.worker_id = flagged.worker_id
        and measured.session_no = flagged.session_no
        and measured.pos = flagged.pos
)

select * from final
