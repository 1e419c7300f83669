-- A refund's pack/bonus split is fixed when it starts taking coins (under its order's
-- lock) and kept here: the next refund of the same order splits against what the live
-- ones took, so the pieces return exactly the pack to issuance and the bonus to the bonus
-- account, and a chargeback takes exactly what they left. Refunds that took coins before
-- this column took the bonus in proportion, rounded down, as recorded here.
alter table refunds add column bonus_coins bigint;
update refunds r
   set bonus_coins = coalesce(floor(r.coins::numeric * (o.bonus_coins + o.first_purchase_bonus_coins)
                                    / nullif(o.coins + o.bonus_coins + o.first_purchase_bonus_coins, 0))::bigint, 0)
  from orders o
 where o.id = r.order_id and r.status in ('processing', 'succeeded', 'failed');
alter table refunds add constraint refunds_bonus_coins_within check (bonus_coins between 0 and coins);
alter table refunds add constraint refunds_split_once_taking
  check (status in ('requested', 'rejected', 'canceled') or bonus_coins is not null);
