-- The set-based balance checks of 00004 and 00005 joined a batch's new rows against the
-- whole postings table: the planner, seeing 1,000 new entries, chose a hash join over a
-- sequential scan (or a merge join over the full entry_id index). Each flush batch then
-- cost time in proportion to the size of the ledger: ~100 ms at 80k postings, seconds at a
-- few million, so the flusher fell ever further behind as the ledger grew.
-- A lateral subquery per new entry is answered by an index probe on
-- postings (entry_id, account_id): the cost is that of the batch, whatever the ledger holds.
-- The guarantees are unchanged.

create or replace function ledger_check_new_entries_balanced() returns trigger language plpgsql as $$
declare
  bad record;
begin
  select e.id, s.posting_count, s.posting_sum into bad
    from new_entries e
   cross join lateral (
         select count(*) as posting_count, coalesce(sum(p.amount), 0) as posting_sum
           from postings p where p.entry_id = e.id) s
   where s.posting_count < 2 or s.posting_sum <> 0
   limit 1;
  if found then
    raise exception 'journal entry % does not balance: % postings summing to %', bad.id, bad.posting_count, bad.posting_sum
      using errcode = 'check_violation';
  end if;
  return null;
end
$$;

create or replace function ledger_check_postings_balanced() returns trigger language plpgsql as $$
declare
  bad text;
begin
  select n.entry_id::text into bad from new_postings n
   where not exists (select 1 from journal_entries e where e.id = n.entry_id) limit 1;
  if bad is not null then
    raise exception 'posting references no journal entry: %', bad using errcode = 'foreign_key_violation';
  end if;
  select n.account_id into bad from new_postings n
   where not exists (select 1 from accounts a where a.id = n.account_id) limit 1;
  if bad is not null then
    raise exception 'posting references no account: %', bad using errcode = 'foreign_key_violation';
  end if;
  select touched.entry_id::text into bad
    from (select distinct entry_id from new_postings) touched
   cross join lateral (select sum(p.amount) as total from postings p where p.entry_id = touched.entry_id) s
   where s.total <> 0
   limit 1;
  if bad is not null then
    raise exception 'postings leave journal entry % unbalanced', bad using errcode = 'check_violation';
  end if;
  return null;
end
$$;
