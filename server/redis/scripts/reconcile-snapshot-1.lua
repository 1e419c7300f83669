--[[ reconcile-snapshot-1: the hot side of reconcile, read at one instant.

KEYS[1] balances hash    account id -> coins
KEYS[2] journal stream   the unflushed entries

Returns {balances, journal, lastId}:
  balances  HGETALL of KEYS[1], field and value alternating
  journal   XRANGE of KEYS[2] from first to last, as XRANGE answers
  lastId    the stream's last generated id ("0-0" when it does not exist)

Read only. A script rather than MULTI: Redis refuses to queue a transaction while it is
out of memory, and a Redis that ran out of memory is one to reconcile.
]]
local lastId = '0-0'
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then lastId = info[i + 1] end
  end
end
return {redis.call('HGETALL', KEYS[1]), redis.call('XRANGE', KEYS[2], '-', '+'), lastId}
