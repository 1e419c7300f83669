--[[ post-entry-4: apply one balanced journal entry of any kind (grant, top-up, refund ...).

KEYS[1] balances hash      account id -> coins
KEYS[2] idempotency key    the first result for this operation's key
KEYS[3] journal stream     fields as in gift-9.lua; r is empty without an idempotency key

ARGV[1] entry id (uuid)    ARGV[2] kind          ARGV[3] now, ms
ARGV[4] entry meta, JSON   ARGV[5] idempotency ttl s (0: keep no record)
ARGV[6] fingerprint        ARGV[7] journal length max
ARGV[8] posting count n
ARGV[9] unflushed age max, ms: with an idempotency key, refuse while the journal holds an
        entry older than this (see below)
ARGV[10 + 3i .. 12 + 3i]   posting i: account, amount (nonzero integer), floor
                           ("0": may not go below zero, "-": no floor)

Returns one of
  {"OK", entryId, balance0, balance1, ...}   the balances after the entry, per posting
  {"REPLAY", entryId, balance0, ...}         the stored first result
  {"ERR", code}   INVALID_ARGUMENT (key reused with another body) | INSUFFICIENT_FUNDS
                  | UNAVAILABLE (journal full, or too far behind for the key to be
                  checked); nothing was changed
An "ASSERT ..." error reply means the postings do not balance: nothing was changed.
]]
local stored = redis.call('GET', KEYS[2])
if stored then
  local fingerprint, result = string.match(stored, '^([^\n]*)\n(.*)$')
  if fingerprint ~= ARGV[6] then return {'ERR', 'INVALID_ARGUMENT'} end
  local reply = {'REPLAY'}
  for field in string.gmatch(result, '[^|]+') do reply[#reply + 1] = field end
  return reply
end
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[7]) then return {'ERR', 'UNAVAILABLE'} end

-- A key is checked against the ledger first and against its record here, and the record
-- lives only the idempotency ttl. An entry still in the journal (unflushed) for longer has
-- lost its record and is not in the ledger yet: a retry would post it twice. The journal
-- holds only unflushed entries, oldest first, its ids in this server's clock, as the
-- record's expiry is; the limit sits below the ttl, so an entry flushed between the
-- caller's ledger check and this script still has its record here.
if tonumber(ARGV[5]) > 0 then
  local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
  if oldest then
    local time = redis.call('TIME')
    local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    if nowMs - tonumber(string.match(oldest[1], '^(%d+)')) >= tonumber(ARGV[9]) then return {'ERR', 'UNAVAILABLE'} end
  end
end

local count = tonumber(ARGV[8])
if count < 2 then return redis.error_reply('ASSERT an entry needs two or more postings') end
local sum = 0
for i = 0, count - 1 do
  local amount = tonumber(ARGV[11 + 3 * i])
  if not amount or amount == 0 or amount % 1 ~= 0 then return redis.error_reply('ASSERT bad posting amount') end
  sum = sum + amount
  if ARGV[12 + 3 * i] == '0' and amount < 0 then
    local balance = tonumber(redis.call('HGET', KEYS[1], ARGV[10 + 3 * i]) or '0')
    if balance + amount < 0 then return {'ERR', 'INSUFFICIENT_FUNDS'} end
  end
end
if sum ~= 0 then return redis.error_reply('ASSERT postings do not sum to zero') end

local postings, balances = {}, {}
for i = 0, count - 1 do
  local account, amount = ARGV[10 + 3 * i], ARGV[11 + 3 * i]
  balances[#balances + 1] = redis.call('HINCRBY', KEYS[1], account, amount)
  postings[#postings + 1] = account .. '=' .. amount
end
local result = ARGV[1]
for _, balance in ipairs(balances) do result = result .. '|' .. string.format('%d', balance) end
local record = ''
if tonumber(ARGV[5]) > 0 then
  record = ARGV[6] .. '\n' .. result
  redis.call('SET', KEYS[2], record, 'EX', tonumber(ARGV[5]))
end
-- r: the stored first result, so a rebuilt Redis still answers replays of this key.
redis.call('XADD', KEYS[3], '*', 'id', ARGV[1], 'k', ARGV[2], 't', ARGV[3], 'p', table.concat(postings, ';'), 'm', ARGV[4], 'r', record)
local reply = {'OK', ARGV[1]}
for _, balance in ipairs(balances) do reply[#reply + 1] = balance end
return reply
