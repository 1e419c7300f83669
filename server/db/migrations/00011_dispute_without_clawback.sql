-- A dispute on an order that credited nothing takes nothing back: it has no entry to name.
alter table order_disputes alter column clawback_entry_id drop not null;
