-- Top-up orders. The order row carries its current status; order_transitions keeps every
-- change with its time and cause. Coins move only through the ledger.
create table orders (
  id text primary key,
  user_id text not null,
  package_id text not null references coin_packages (id),
  price numeric(18, 3) not null check (price > 0),
  currency text not null,
  coins bigint not null check (coins > 0),
  bonus_coins bigint not null check (bonus_coins >= 0),
  first_purchase_bonus_coins bigint not null default 0 check (first_purchase_bonus_coins >= 0),
  status text not null check (status in ('pending_payment', 'paid', 'fulfilled', 'canceled', 'expired',
    'refunded', 'partially_refunded', 'disputed', 'dispute_won', 'dispute_lost')),
  provider text not null check (provider in ('stripe', 'sandbox')),
  idempotency_key text not null,
  request_fingerprint text not null,
  payment_intent_id text unique,
  client_secret text,
  fulfilled_entry_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  expires_at timestamptz not null,
  unique (user_id, idempotency_key)
);
create index orders_user on orders (user_id, created_at desc);
create index orders_pending_expiry on orders (expires_at) where status = 'pending_payment';

create table order_transitions (
  id bigint generated always as identity primary key,
  order_id text not null references orders (id),
  from_status text,
  to_status text not null,
  cause text not null,
  at timestamptz not null default now()
);
create index order_transitions_order on order_transitions (order_id, id);

-- Every verified Stripe event, once: redeliveries are recognised by id.
create table stripe_events (
  id text primary key,
  type text not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz
);
