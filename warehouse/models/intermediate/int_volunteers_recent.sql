-- one row per person (person_key) with a volunteer record whose 签到 date is in the 12 months before the as-of date, (D − 1 year, D]
with params as (
    select as_of from meta.params
)

select distinct records.person_key
from staging.stg_volunteers__records as records
cross join params
where cast(records.check_in as date) > params.as_of - interval 1 year
    and cast(records.check_in as date) <= params.as_of
