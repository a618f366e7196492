-- one row per kept GPS point of a patrol session (for the worker's track map), sorted by worker and time
with points as (
    select * from intermediate.int_patrol_points
)

select worker_id, session_id, ts, lon, lat, km_from_previous
from points
where kept
order by worker_id, ts, session_id
