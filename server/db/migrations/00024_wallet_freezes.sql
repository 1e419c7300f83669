-- An admin's freeze of a user's wallet (fraud, moderation): no gifts until lifted. It is a
-- decision, not a balance, so it lives here and not only in Redis: a wallet rebuild after
-- Redis lost its data restores it beside the freezes a debt implies (server/services/debt.ts).
create table wallet_freezes (
  user_id text primary key,
  reason text not null check (length(reason) between 1 and 200),
  frozen_by text not null,
  frozen_at timestamptz not null default now()
);

-- Every freeze and lift, by whom and why: the audit trail support and compliance ask for.
create table wallet_freeze_events (
  id bigint generated always as identity primary key,
  user_id text not null,
  action text not null check (action in ('freeze', 'unfreeze')),
  reason text not null check (length(reason) between 1 and 200),
  by_user text not null,
  at timestamptz not null default now()
);
create index wallet_freeze_events_by_user on wallet_freeze_events (user_id, id desc);
