-- Refunds: one recorded flow that cannot half-happen. The intent is persisted, the coins
-- are debited, the provider is called, then the refund settles or is compensated.
create table refunds (
  id text primary key,
  order_id text not null references orders (id),
  requested_by text not null,
  coins bigint not null check (coins > 0),
  amount numeric(18, 3) not null check (amount >= 0),
  currency text not null,
  status text not null check (status in ('requested', 'processing', 'succeeded', 'failed', 'rejected')),
  provider_refund_id text,
  cause text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index refunds_order on refunds (order_id);
create index refunds_open on refunds (status) where status = 'processing';
