-- Reconcile compares every account's hot balance with its ledger balance. Summing every
-- posting each time grows with the ledger (a day at 1,000 gifts/s is ~170 M postings);
-- instead reconcile keeps each account's sum of the postings up to `posting_id` here and
-- adds only the newer ones. The postings are immutable, so the sums stay true.
create table ledger_checkpoint (
  only_row boolean primary key default true check (only_row),
  posting_id bigint not null check (posting_id >= 0),
  advanced_at timestamptz not null default now()
);
insert into ledger_checkpoint (posting_id) values (0);

create table ledger_checkpoint_balances (
  account_id text primary key,
  balance bigint not null
);

-- A checkpoint may only stand at a posting id below which every posting is committed: with
-- two flusher lanes, posting 101 can commit before posting 100. So every statement that
-- inserts postings holds this lock shared until its transaction ends (writers do not wait
-- on each other), and the checkpoint takes it exclusively for an instant to read max(id):
-- no insert is then in flight, and every later one draws a higher id. The two-key form
-- keeps it apart from the application's one-key advisory locks.
create function postings_writers_hold_checkpoint_lock() returns trigger language plpgsql as $$
begin
  perform pg_advisory_xact_lock_shared(1819042147, 1);
  return null;
end
$$;
create trigger postings_writers_hold_checkpoint_lock before insert on postings
  for each statement execute function postings_writers_hold_checkpoint_lock();
