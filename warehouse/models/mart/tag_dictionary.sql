-- one row per tag: its bit in the person profile's tag words (word 0..7, bit 0..62: 504 tags at most) and how many people carry it
with tags as (
    select tag, count(distinct person_key) as persons
    from mart.person_tags
    group by tag
),

numbered as (
    select tag, persons, row_number() over (order by tag) - 1 as position
    from tags
),

checked as (
    select
        tag,
        cast(position // 63 as integer) as word,
        cast(position % 63 as integer) as bit,
        persons,
        case when position >= 504 then error('more than 504 tag kinds: the person profile holds 8 words of 63 tag bits') end
            as overflow,
    from numbered
)

select tag, word, bit, persons from checked where overflow is null
