-- A streamer's earnings view and each settlement run summed every posting the payee ever
-- received (joined to its entry for the kind and the time): a popular streamer's earnings
-- request then read millions of rows, and grew slower each day. Payees' postings are also
-- kept here summed per UTC day and per room, by a trigger in the transaction that inserts
-- them, so the sums can never disagree with the ledger: its rows are never updated or
-- deleted, and these only ever add what a committed insert added.
--
-- Settlement periods start and end at UTC midnight, so a period's sums are whole days.
-- Settlement entries themselves are left out: settlement reads the coins it moved from its
-- own table, and counting them here would count them twice.

create table payee_days (
  account_id text not null,
  day date not null,
  gift_coins bigint not null,
  gifts bigint not null,
  -- Every other kind but settlement: payouts returned or re-sent, chargebacks' clawbacks.
  adjustment_coins bigint not null,
  primary key (account_id, day)
) with (fillfactor = 80);

create table payee_rooms (
  account_id text not null,
  room_id text not null,
  coins bigint not null,
  gifts bigint not null,
  last_gift_at timestamptz not null,
  primary key (account_id, room_id)
) with (fillfactor = 80);

-- Rows are upserted in key order, so two flusher lanes touching the same payees take
-- their row locks in the same order and cannot deadlock.
create function payee_rollups_add() returns trigger language plpgsql as $$
begin
  with payee_postings as materialized (
    select p.account_id, p.amount, e.kind, e.created_at, e.meta ->> 'roomId' as room_id
      from new_postings p join journal_entries e on e.id = p.entry_id
     where (p.account_id like 'earnings:%' or p.account_id like 'agency:%') and e.kind <> 'settlement'
  ), days as (
    insert into payee_days as d (account_id, day, gift_coins, gifts, adjustment_coins)
    select account_id, (created_at at time zone 'utc')::date,
           coalesce(sum(amount) filter (where kind = 'gift'), 0),
           count(*) filter (where kind = 'gift'),
           coalesce(sum(amount) filter (where kind <> 'gift'), 0)
      from payee_postings
     group by 1, 2
     order by 1, 2
    on conflict (account_id, day) do update
       set gift_coins = d.gift_coins + excluded.gift_coins,
           gifts = d.gifts + excluded.gifts,
           adjustment_coins = d.adjustment_coins + excluded.adjustment_coins
  )
  insert into payee_rooms as r (account_id, room_id, coins, gifts, last_gift_at)
  select account_id, room_id, sum(amount), count(*), max(created_at)
    from payee_postings
   where kind = 'gift' and room_id is not null
   group by 1, 2
   order by 1, 2
  on conflict (account_id, room_id) do update
     set coins = r.coins + excluded.coins,
         gifts = r.gifts + excluded.gifts,
         last_gift_at = greatest(r.last_gift_at, excluded.last_gift_at);
  return null;
end
$$;

-- Created before the backfill, in the migration's transaction: creating it locks postings
-- against inserts until commit, so every posting is summed once, by the backfill or by it.
create trigger postings_add_to_payee_rollups after insert on postings
  referencing new table as new_postings for each statement execute function payee_rollups_add();

-- The same sums taken from the whole ledger: the backfill below, and what
-- `npm run reconcile -- --full` checks the kept sums against.
create view payee_ledger_days as
select p.account_id, (e.created_at at time zone 'utc')::date as day,
       coalesce(sum(p.amount) filter (where e.kind = 'gift'), 0) as gift_coins,
       count(*) filter (where e.kind = 'gift') as gifts,
       coalesce(sum(p.amount) filter (where e.kind <> 'gift'), 0) as adjustment_coins
  from postings p join journal_entries e on e.id = p.entry_id
 where (p.account_id like 'earnings:%' or p.account_id like 'agency:%') and e.kind <> 'settlement'
 group by 1, 2;

create view payee_ledger_rooms as
select p.account_id, e.meta ->> 'roomId' as room_id, sum(p.amount) as coins, count(*) as gifts, max(e.created_at) as last_gift_at
  from postings p join journal_entries e on e.id = p.entry_id
 where (p.account_id like 'earnings:%' or p.account_id like 'agency:%') and e.kind = 'gift' and e.meta ->> 'roomId' is not null
 group by 1, 2;

insert into payee_days (account_id, day, gift_coins, gifts, adjustment_coins)
select account_id, day, gift_coins, gifts, adjustment_coins from payee_ledger_days;

insert into payee_rooms (account_id, room_id, coins, gifts, last_gift_at)
select account_id, room_id, coins, gifts, last_gift_at from payee_ledger_rooms;
