-- Opening a room counts the streamer's open rooms (at most 20), and the earnings view lists
-- them: both read only open rooms, which a long-running streamer's closed ones would
-- otherwise outnumber in the (streamer_id, created_at) index.
create index rooms_open_by_streamer on rooms (streamer_id, created_at desc) where closed_at is null;
