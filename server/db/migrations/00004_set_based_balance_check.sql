-- The per-row deferred check ran one query per entry at COMMIT: at 1,000 entries a batch
-- it dominated the flusher. One set-based check per statement does the same: an entry
-- and its postings are inserted in one statement (the flusher does so with a CTE), and at
-- the end of that statement every new entry must have two or more postings summing to zero.
drop trigger journal_entries_balanced on journal_entries;
drop function ledger_check_entry_balanced();

create function ledger_check_new_entries_balanced() returns trigger language plpgsql as $$
declare
  bad record;
begin
  select e.id, count(p.id) as posting_count, coalesce(sum(p.amount), 0) as posting_sum into bad
    from new_entries e left join postings p on p.entry_id = e.id
   group by e.id
  having count(p.id) < 2 or coalesce(sum(p.amount), 0) <> 0
   limit 1;
  if found then
    raise exception 'journal entry % does not balance: % postings summing to %', bad.id, bad.posting_count, bad.posting_sum
      using errcode = 'check_violation';
  end if;
  return null;
end
$$;

create trigger journal_entries_balanced after insert on journal_entries
  referencing new table as new_entries for each statement execute function ledger_check_new_entries_balanced();
