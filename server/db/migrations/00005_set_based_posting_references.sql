-- Ledger rows are never updated or deleted (00001 refuses it), so the foreign keys of
-- postings only ever checked, row by row, that the entry and the account exist at insert.
-- Two row-level checks per posting dominated a flush batch; one set-based check per
-- statement gives the same guarantee.
alter table postings drop constraint postings_entry_id_fkey;
alter table postings drop constraint postings_account_id_fkey;

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
  select p.entry_id::text into bad
    from postings p
   where p.entry_id in (select distinct entry_id from new_postings)
   group by p.entry_id having sum(p.amount) <> 0 limit 1;
  if bad is not null then
    raise exception 'postings leave journal entry % unbalanced', bad using errcode = 'check_violation';
  end if;
  return null;
end
$$;
