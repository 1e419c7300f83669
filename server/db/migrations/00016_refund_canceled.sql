-- The owner may withdraw a request an admin has not decided yet: `canceled`.
alter table refunds drop constraint refunds_status_check;
alter table refunds add constraint refunds_status_check
  check (status in ('requested', 'processing', 'succeeded', 'failed', 'rejected', 'canceled'));
