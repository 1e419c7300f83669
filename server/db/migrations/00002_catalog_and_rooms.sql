create table gifts (
  id text primary key check (id ~ '^[a-z0-9_-]{1,32}$'),
  name text not null,
  coins bigint not null check (coins between 1 and 1000000),
  active boolean not null default true,
  sort_order integer not null default 0
);

insert into gifts (id, name, coins, sort_order) values
  ('rose', 'Rose', 1, 1),
  ('heart', 'Heart', 5, 2),
  ('lollipop', 'Lollipop', 10, 3),
  ('bubbles', 'Bubbles', 50, 4),
  ('crown', 'Crown', 100, 5),
  ('rocket', 'Rocket', 500, 6),
  ('castle', 'Castle', 1000, 7),
  ('yacht', 'Yacht', 2000, 8),
  ('galaxy', 'Galaxy', 5000, 9),
  ('universe', 'Universe', 10000, 10);

create table rooms (
  id text primary key,
  streamer_id text not null,
  title text not null default '',
  created_at timestamptz not null default now(),
  closed_at timestamptz
);
create index rooms_streamer on rooms (streamer_id, created_at desc);
