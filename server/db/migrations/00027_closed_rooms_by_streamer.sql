-- A streamer's earnings view lists the sessions that ended in the last week (their boards
-- stay in Redis that long): closed rooms by streamer, the latest first.
create index rooms_closed_by_streamer on rooms (streamer_id, closed_at desc) where closed_at is not null;
