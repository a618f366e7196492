-- one row per ticket loaded more than once: how many versions, and which file and row holds the newest (the latest 更新时间, then the file hash, then the row)
-- only the keys loaded more than once are ranked (10.4M district ticket versions, 430k keys repeated: 2.3 s). The
-- staging view of tickets keeps, of those keys, only the newest version's row: its ten million rows are not written
-- out again (15–20 s), and its readers join these rows back as they read
with repeated as (  -- keys loaded more than once
    select ticket_id, count(*) as versions
    from raw.complaints__tickets
    group by ticket_id
    having count(*) > 1
),

ranked as (
    select
        source.ticket_id,
        source._file_hash,
        source._row,
        row_number() over (
            partition by source.ticket_id
            order by source.updated_at desc nulls last, source._file_hash desc, source._row desc
        ) as version_rank,
    from raw.complaints__tickets as source
    where source.ticket_id in (select ticket_id from repeated)
)

select
    ranked.ticket_id,
    repeated.versions,
    ranked._file_hash as newest_file_hash,
    ranked._row as newest_row,
from ranked
inner join repeated on repeated.ticket_id = ranked.ticket_id
where ranked.version_rank = 1
