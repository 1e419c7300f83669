--[[ ack-journal-1: take entries the ledger now holds out of the journal, in one step.

KEYS[1] journal stream
ARGV[1] the flushers' consumer group
ARGV[2..] stream ids of the entries committed to the ledger

Returns the number of entries deleted from the stream.

XACK and XDEL together: an entry acknowledged but left in the stream would count as
unflushed in reconcile, and one deleted but left pending would be claimed again. MULTI
would do as much, but Redis refuses to queue a transaction while it is out of memory,
and draining the journal is what gives memory back. Neither command is refused then, nor
is a script that calls only them.
]]
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
