-- one row per ticket: the version with the latest 更新时间, whatever order the files came in
-- the newest version is picked over the key and row id alone, then joined back: a window over every
-- column copied the whole wide table through the sort (district, each alone: 31 → 13 s for 10.4M ticket versions, 3.2 → 1.7 s for 1M persons)
with ranked as (
    select
        rowid as source_row,
        count(*) over (partition by ticket_id) as versions,
        row_number() over (
            partition by ticket_id
            order by updated_at desc nulls last, _file_hash desc, _row desc
        ) as version_rank,
    from raw.complaints__tickets
)

select source.*, ranked.versions
from raw.complaints__tickets as source
inner join ranked on ranked.source_row = source.rowid
where ranked.version_rank = 1
