-- Revenue splits, settlement and payouts.
--
-- Agencies earn on 'agency:<id>' accounts; a settlement run moves a payee's coins into
-- 'settling:<payee account>' until the payout goes out (to 'system:payouts') or fails
-- (back to the payee's account).
alter table accounts drop constraint accounts_kind_check;
alter table accounts add constraint accounts_kind_check
  check (kind in ('wallet', 'earnings', 'platform', 'system', 'debt', 'agency', 'settling'));

create table agencies (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

-- A streamer without a row here is on the default contract (creator 70 %, platform 30 %).
create table split_contracts (
  streamer_id text primary key,
  -- [{ "fromMonthCoins": 0, "bps": 5000 }, ...], validated by domain/split-contracts.ts
  creator_tiers jsonb not null check (jsonb_typeof(creator_tiers) = 'array'),
  agency_id text references agencies (id),
  agency_bps integer check (agency_bps between 1 and 10000),
  updated_at timestamptz not null default now(),
  check ((agency_id is null) = (agency_bps is null))
);

-- Withholding rates by tax profile; a payee with no profile on file is withheld at 30 %.
create table tax_rates (
  code text primary key check (code ~ '^[A-Z0-9_]{1,40}$'),
  rate numeric(7, 6) not null check (rate >= 0 and rate <= 1),
  description text not null default '',
  updated_at timestamptz not null default now()
);
insert into tax_rates (code, rate, description) values
  ('US_W9', 0, 'US person, W-9 on file: no withholding'),
  ('TREATY_15', 0.15, 'treaty rate 15 %, W-8BEN on file'),
  ('TREATY_10', 0.10, 'treaty rate 10 %, W-8BEN on file'),
  ('TREATY_0', 0, 'treaty rate 0 %, W-8BEN on file'),
  ('JP_RESIDENT', 0.2042, 'Japan, income tax and reconstruction surtax'),
  ('KR_RESIDENT', 0.033, 'Korea, business income withholding');

-- What one coin pays out in each currency, the minimum payout, and the fees of each method.
create table payout_rates (
  currency text primary key,
  fiat_per_coin numeric(20, 10) not null check (fiat_per_coin > 0),
  minimum_payout numeric(20, 4) not null check (minimum_payout >= 0),
  stripe_fee_fixed numeric(20, 4) not null check (stripe_fee_fixed >= 0),
  stripe_fee_percent numeric(7, 6) not null check (stripe_fee_percent >= 0 and stripe_fee_percent < 1),
  manual_fee_fixed numeric(20, 4) not null check (manual_fee_fixed >= 0),
  updated_at timestamptz not null default now()
);
insert into payout_rates (currency, fiat_per_coin, minimum_payout, stripe_fee_fixed, stripe_fee_percent, manual_fee_fixed) values
  ('USD', 0.01, 10.00, 0.25, 0.0025, 5.00),
  ('EUR', 0.0092, 10.00, 0.25, 0.0025, 5.00),
  ('JPY', 1.5, 1500, 40, 0.0025, 800),
  ('KWD', 0.003, 3.000, 0.080, 0.0025, 1.500);

-- Who gets paid how. A payee without a row: monthly, USD, KYC unverified, no tax profile.
create table payee_profiles (
  payee_account text primary key check (payee_account ~ '^(earnings|agency):'),
  schedule text not null check (schedule in ('daily', 'weekly', 'monthly')),
  currency text not null references payout_rates (currency),
  kyc_status text not null check (kyc_status in ('unverified', 'pending', 'verified', 'rejected')),
  tax_profile text references tax_rates (code),
  payout_method text not null check (payout_method in ('stripe', 'manual')),
  stripe_account text check (stripe_account ~ '^acct_[A-Za-z0-9]{1,64}$'),
  updated_at timestamptz not null default now()
);

-- One row per (payee, period), whatever the outcome: the idempotency of a run.
create table settlements (
  id text primary key,
  payee_account text not null,
  period_id text not null,
  schedule text not null check (schedule in ('daily', 'weekly', 'monthly')),
  period_start timestamptz not null,
  period_end timestamptz not null check (period_end > period_start),
  -- posting: the row exists, the ledger entry may not yet; settled: coins are in settling.
  status text not null check (status in ('posting', 'settled', 'carried_over')),
  reason text,
  carried_in_coins bigint not null,
  earned_coins bigint not null,
  adjustment_coins bigint not null,
  coins bigint not null check (coins > 0),
  currency text not null,
  fiat_per_coin numeric(20, 10) not null,
  gross numeric(20, 4) not null check (gross >= 0),
  tax_profile text,
  tax_rate numeric(7, 6) not null,
  tax numeric(20, 4) not null check (tax >= 0),
  fee numeric(20, 4) not null check (fee >= 0),
  payable numeric(20, 4) not null check (payable >= 0),
  payout_method text not null,
  entry_id uuid,
  created_at timestamptz not null,
  settled_at timestamptz,
  unique (payee_account, period_id),
  check (gross = tax + fee + payable),
  check ((status = 'carried_over') = (reason is not null))
);
create index settlements_payee_end on settlements (payee_account, period_end desc);

create table payouts (
  id text primary key,
  settlement_id text not null unique references settlements (id),
  payee_account text not null,
  method text not null check (method in ('stripe', 'manual')),
  destination text,
  currency text not null,
  amount numeric(20, 4) not null check (amount > 0),
  coins bigint not null check (coins > 0),
  -- pending: coins in settling, not sent; sending: a transfer is under way (resumed with
  -- the same idempotency key); exported: in a CSV for manual payment; paid; failed:
  -- the coins went back to the payee's account (retry moves them out again).
  status text not null check (status in ('pending', 'sending', 'exported', 'paid', 'failed')),
  attempts integer not null default 0,
  transfer_id text,
  last_error text,
  paid_entry_id uuid,
  returned_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index payouts_status on payouts (status, created_at);

create table payout_attempts (
  payout_id text not null references payouts (id),
  attempt integer not null,
  idempotency_key text not null,
  outcome text not null check (outcome in ('started', 'paid', 'failed')),
  detail text,
  at timestamptz not null default now(),
  primary key (payout_id, attempt, outcome)
);
