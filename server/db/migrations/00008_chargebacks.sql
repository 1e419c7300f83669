-- Chargebacks: coins clawed back beyond what a wallet holds become a debt position, a
-- receivable account 'debt:<user>' that goes negative by what the user owes.
alter table accounts drop constraint accounts_kind_check;
alter table accounts add constraint accounts_kind_check
  check (kind in ('wallet', 'earnings', 'platform', 'system', 'debt'));

create table order_disputes (
  id text primary key,
  order_id text not null references orders (id),
  clawback_entry_id uuid not null,
  wallet_coins bigint not null check (wallet_coins >= 0),
  debt_coins bigint not null check (debt_coins >= 0),
  status text not null check (status in ('open', 'won', 'lost')),
  opened_at timestamptz not null default now(),
  closed_at timestamptz
);
