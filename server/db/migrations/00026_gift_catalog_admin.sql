-- Admins change the gift catalog while the platform runs (a seasonal gift, a new price, a
-- gift retired). Gifts are never deleted: ledger entries name them. Every gateway node
-- keeps the catalog in memory and asks every 2 s whether it changed, through this counter
-- (as split_contracts_version does for contracts).
alter table gifts add column updated_at timestamptz not null default now();
alter table gifts add constraint gifts_name_length check (char_length(name) between 1 and 40);

create table gifts_version (
  only_row boolean primary key default true check (only_row),
  version bigint not null
);
insert into gifts_version (only_row, version) values (true, 0);

create function gifts_changed() returns trigger language plpgsql as $$
begin
  update gifts_version set version = version + 1;
  return null;
end $$;

create trigger gifts_changed after insert or update or delete or truncate on gifts
  for each statement execute function gifts_changed();
