-- The double-entry ledger: the source of truth for every coin.
-- A journal entry's postings sum to zero and ledger rows are never updated or deleted;
-- both are enforced here, not only in code.

create table accounts (
  id text primary key,
  kind text not null check (kind in ('wallet', 'earnings', 'platform', 'system')),
  owner_id text,
  created_at timestamptz not null default now()
);

create table journal_entries (
  id uuid primary key,
  seq bigint generated always as identity unique,
  kind text not null check (length(kind) between 1 and 40),
  created_at timestamptz not null,
  -- Position in the Redis journal stream; reconcile uses it to take consistent snapshots.
  stream_ms bigint,
  stream_seq bigint,
  meta jsonb not null default '{}'::jsonb,
  flushed_at timestamptz not null default now()
);
create index journal_entries_stream_pos on journal_entries (stream_ms, stream_seq);

create table postings (
  id bigint generated always as identity primary key,
  entry_id uuid not null references journal_entries (id),
  account_id text not null references accounts (id),
  amount bigint not null check (amount <> 0),
  unique (entry_id, account_id)
);
create index postings_account_newest on postings (account_id, id desc);

create function ledger_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'ledger rows are immutable: % on % refused', tg_op, tg_table_name
    using errcode = 'integrity_constraint_violation';
end
$$;

create trigger journal_entries_immutable before update or delete on journal_entries
  for each row execute function ledger_refuse_change();
create trigger journal_entries_no_truncate before truncate on journal_entries
  for each statement execute function ledger_refuse_change();
create trigger postings_immutable before update or delete on postings
  for each row execute function ledger_refuse_change();
create trigger postings_no_truncate before truncate on postings
  for each statement execute function ledger_refuse_change();

-- At commit, every new entry has two or more postings that sum to zero.
create function ledger_check_entry_balanced() returns trigger language plpgsql as $$
declare
  posting_sum numeric;
  posting_count integer;
begin
  select coalesce(sum(amount), 0), count(*) into posting_sum, posting_count
    from postings where entry_id = new.id;
  if posting_count < 2 or posting_sum <> 0 then
    raise exception 'journal entry % does not balance: % postings summing to %', new.id, posting_count, posting_sum
      using errcode = 'check_violation';
  end if;
  return null;
end
$$;

create constraint trigger journal_entries_balanced after insert on journal_entries
  deferrable initially deferred for each row execute function ledger_check_entry_balanced();

-- All postings of an entry arrive in one statement, and postings added later to an
-- existing entry must keep it balanced too.
create function ledger_check_postings_balanced() returns trigger language plpgsql as $$
declare
  unbalanced uuid;
begin
  select p.entry_id into unbalanced
    from postings p
   where p.entry_id in (select distinct entry_id from new_postings)
   group by p.entry_id having sum(p.amount) <> 0 limit 1;
  if unbalanced is not null then
    raise exception 'postings leave journal entry % unbalanced', unbalanced using errcode = 'check_violation';
  end if;
  return null;
end
$$;

create trigger postings_keep_entries_balanced after insert on postings
  referencing new table as new_postings for each statement execute function ledger_check_postings_balanced();
