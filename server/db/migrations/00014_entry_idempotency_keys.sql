-- An operation that posts with an idempotency key (payouts, refunds, orders, chargebacks,
-- settlements, grants) carries the key in its entry's meta. Redis remembers a key for 24
-- hours; an operation resumed later asks the ledger instead, and this index answers
-- without reading the gifts, which carry no such key.
create index journal_entries_idempotency_key on journal_entries ((meta ->> 'idempotencyKey'))
  where meta ? 'idempotencyKey';
