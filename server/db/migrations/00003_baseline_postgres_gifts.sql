-- The comparison design for the benchmarks: gifts done in PostgreSQL alone, one
-- transaction per gift. Only GIFT_BACKEND=postgres-baseline uses these tables; they are
-- never part of the real ledger.
create table baseline_wallets (
  account_id text primary key,
  balance bigint not null check (balance >= 0),
  carry bigint not null default 0
);

create table baseline_idempotency (
  sender_id text not null,
  request_id text not null,
  fingerprint text not null,
  result text,
  created_at timestamptz not null default now(),
  primary key (sender_id, request_id)
);

create table baseline_postings (
  id bigint generated always as identity primary key,
  entry_id uuid not null,
  account_id text not null,
  amount bigint not null check (amount <> 0),
  created_at timestamptz not null default now()
);
