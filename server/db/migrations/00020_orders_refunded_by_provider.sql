-- The most the payment provider has reported refunded of an order's charge (charge.refunded's
-- running total, in minor units). A dashboard refund reported while one of ours is still
-- under way counts against ours until ours is known to be done; should the provider then
-- refuse ours, no later report comes, and this is what the dashboard refund is counted from.
alter table orders add column provider_refunded_minor bigint not null default 0
  check (provider_refunded_minor >= 0);
