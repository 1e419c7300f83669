-- Every gateway node keeps all split contracts in memory and asks every 2 s whether they
-- changed. One counter, bumped by every statement that writes the table, answers that
-- with one row: the whole table is read again only when it moved.
create table split_contracts_version (
  only_row boolean primary key default true check (only_row),
  version bigint not null
);
insert into split_contracts_version (only_row, version) values (true, 0);

create function split_contracts_changed() returns trigger language plpgsql as $$
begin
  update split_contracts_version set version = version + 1;
  return null;
end $$;

create trigger split_contracts_changed after insert or update or delete or truncate on split_contracts
  for each statement execute function split_contracts_changed();
