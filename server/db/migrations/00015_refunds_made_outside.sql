-- A refund Stripe made already (in its dashboard, reported by charge.refunded) is only
-- taken back from the wallet; one the app makes is sent to the provider. A crash leaves
-- either kind `processing`, and the resume sweep must tell them apart: not by
-- `requested_by`, which may be any user id, 'stripe' included. Until now, outside refunds
-- were the only ones inserted with this cause, which finishing replaces.
alter table refunds add column made_outside boolean not null default false;
update refunds set made_outside = true where requested_by = 'stripe' and id like 'rf\_x%' and status = 'processing'
  and cause = 'refunded outside the app';
