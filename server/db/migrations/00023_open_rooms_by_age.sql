-- The idle-room sweep looks for open rooms opened before a cut, oldest first; closed rooms,
-- which outnumber them more every day, stay out of this index.
create index rooms_open_by_age on rooms (created_at) where closed_at is null;
