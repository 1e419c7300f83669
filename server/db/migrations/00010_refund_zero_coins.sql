-- A refund made outside the app can be smaller than one coin's worth: it is recorded with
-- the coins it actually took back, which may be none.
alter table refunds drop constraint refunds_coins_check;
alter table refunds add constraint refunds_coins_check check (coins >= 0);
