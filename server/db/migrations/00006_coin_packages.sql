-- Coin packages for top-ups. Prices are numeric in the currency's own decimals; bigger
-- packs carry more bonus (checked when the server loads them).
create table coin_packages (
  id text primary key check (id ~ '^[a-z0-9_-]{1,40}$'),
  price numeric(18, 3) not null check (price > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  coins bigint not null check (coins > 0),
  bonus_coins bigint not null default 0 check (bonus_coins >= 0),
  first_purchase_bonus_coins bigint not null default 0 check (first_purchase_bonus_coins >= 0),
  active boolean not null default true,
  sort_order integer not null default 0
);

insert into coin_packages (id, price, currency, coins, bonus_coins, first_purchase_bonus_coins, sort_order) values
  ('usd-100', 0.99, 'USD', 100, 0, 100, 1),
  ('usd-500', 4.99, 'USD', 500, 25, 100, 2),
  ('usd-1000', 9.99, 'USD', 1000, 100, 100, 3),
  ('usd-2000', 19.99, 'USD', 2000, 300, 100, 4),
  ('usd-5000', 49.99, 'USD', 5000, 1000, 100, 5),
  ('usd-10000', 99.99, 'USD', 10000, 2500, 100, 6),
  ('jpy-100', 160, 'JPY', 100, 0, 100, 11),
  ('jpy-1000', 1600, 'JPY', 1000, 100, 100, 12),
  ('jpy-10000', 16000, 'JPY', 10000, 2500, 100, 13),
  ('kwd-100', 0.300, 'KWD', 100, 0, 100, 21),
  ('kwd-1000', 3.000, 'KWD', 1000, 100, 100, 22),
  ('kwd-10000', 30.000, 'KWD', 10000, 2500, 100, 23);
