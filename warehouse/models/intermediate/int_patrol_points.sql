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

-- one sort of each worker's points: the previous point, and a gap over patrol_gap_minutes between
-- consecutive points (all points, kept or not) starts a session; a session's points are consecutive in
-- that order, so its first point, the positions in it and the previous point within it come from the
-- same order (a window per session sorted the 11.2M district points again: 14.5 s in all before)
ordered as (
    select
        points.*,
        lag(points.ts) over worker_order as previous_ts,
        lag(points.lon) over worker_order as worker_previous_lon,
        lag(points.lat) over worker_order as worker_previous_lat,
        row_number() over worker_order as point_seq,
    from points
    window worker_order as (partition by points.worker_id order by points.ts, points._file_hash, points._row)
),

marked as (
    select
        ordered.*,
        ordered.previous_ts is null
            or date_diff('microsecond', ordered.previous_ts, ordered.ts) > params.patrol_gap_minutes * 6e7
            as starts_session,
    from ordered
    cross join params
),

-- a point's session number is how many session starts the worker has had up to it. Numbered among
-- its kind (starts, or the other points) in one row_number: a start's number is its session's; another
-- point's number k leaves point_seq - k starts up to it. A running sum and max over the worker's points
-- did the same in 9.2 s of 11.2M district points (two framed aggregates), this in 4.2 s (the same sessions)
numbered as (
    select
        marked.*,
        row_number() over (partition by marked.worker_id, marked.starts_session order by marked.point_seq) as kind_seq,
    from marked
),

session_numbered as (
    select
        numbered.*,
        case when numbered.starts_session then numbered.kind_seq else numbered.point_seq - numbered.kind_seq end
            as session_no,
    from numbered
),

session_starts as (
    select worker_id, session_no, point_seq as session_first_seq
    from session_numbered
    where starts_session
),

sessioned as (
    select session_numbered.*, session_starts.session_first_seq
    from session_numbered
    inner join session_starts
        on session_starts.worker_id = session_numbered.worker_id
        and session_starts.session_no = session_numbered.session_no
),

positioned as (
    select
        sessioned.worker_id, sessioned.ts, sessioned.lon, sessioned.lat, sessioned._file_hash, sessioned._row,
        sessioned.previous_ts, sessioned.point_seq, sessioned.session_no,
        sessioned.point_seq - sessioned.session_first_seq + 1 as pos,
        case when not sessioned.starts_session then sessioned.worker_previous_lon end as previous_lon,
        case when not sessioned.starts_session then sessioned.worker_previous_lat end as previous_lat,
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
        ts as kept_ts, lon as kept_lon, lat as kept_lat, cast(null as double) as km,
    from walk_points
    where pos = 1
    union all
    select
        nxt.worker_id, nxt.session_no, nxt.pos,
        nxt.km <= params.patrol_max_speed_kmh * nxt.hours as kept,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.ts else nxt.kept_ts end,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.lon else nxt.kept_lon end,
        case when nxt.km <= params.patrol_max_speed_kmh * nxt.hours then nxt.lat else nxt.kept_lat end,
        nxt.km,
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

-- km from the previous kept point of the session: the step itself where every point is kept, else the
-- walk's distance from the last kept point; a dropped point has none, a session's first point 0
flagged as (
    select
        too_fast.worker_id, too_fast.session_no, too_fast.pos, too_fast.point_seq,
        too_fast.ts, too_fast.lon, too_fast.lat,
        coalesce(walk.kept, true) as kept,
        case
            when coalesce(walk.kept, true)
                then coalesce(case when walk.worker_id is null then too_fast.step_km else walk.km end, 0.0)
        end as km_from_previous,
    from too_fast
    left join walk
        on walk.worker_id = too_fast.worker_id
        and walk.session_no = too_fast.session_no
        and walk.pos = too_fast.pos
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
        flagged.km_from_previous,
    from flagged
)

select * from final
