-- one row per ticket: the version with the latest 更新时间, whatever order the files came in
-- stored plain: ticket_id, reporter_person_key
-- the raw ID number (reporter_id_number) stays in raw; staging keeps its keyed hash (reporter_person_key) only, so it holds no
-- person-identifying column and is built straight into the analytics file (warehouse/build.py)
-- only the keys loaded more than once are ranked, and their older versions left out: ranking every version over
-- the key and row id, then joining the newest back, took 12.1 s for 10.4M district ticket versions (430k of them
-- repeats), this 10.1 s (the same rows). stg_registry__persons and stg_volunteers__records do the same.
with repeated as (  -- keys loaded more than once
    select ticket_id, count(*) as versions
    from raw.complaints__tickets
    group by ticket_id
    having count(*) > 1
),

superseded as (  -- every version of those keys but the newest
    select source_row
    from (
        select
            source.rowid as source_row,
            row_number() over (
                partition by source.ticket_id
                order by source.updated_at desc nulls last, source._file_hash desc, source._row desc
            ) as version_rank,
        from raw.complaints__tickets as source
        where source.ticket_id in (select ticket_id from repeated)
    ) as ranked
    where version_rank > 1
)

select source.* exclude (reporter_id_number), coalesce(repeated.versions, 1) as versions
from raw.complaints__tickets as source
left join repeated on repeated.ticket_id = source.ticket_id
where source.rowid not in (select source_row from superseded)
