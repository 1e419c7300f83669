--[[ gift-9: charge one gift atomically, in one round trip.

KEYS[1]  balances hash      account id -> coins
KEYS[2]  frozen hash        user id -> reason (present = frozen)
KEYS[3]  carries hash       "<account>|<rule>" -> owed fraction, 1/10000 coin
KEYS[4]  earned hash        streamer id -> lifetime coins credited by gifts
KEYS[5]  idempotency key    the first result for (sender, requestId), kept 24 h
KEYS[6]  combo key          hash {g = gift id, n = count} for (room, sender), expires after the window
KEYS[7]  journal stream     one record per journal entry, read by the flusher:
                            id, k (kind), t (ms), p (postings), m (meta JSON),
                            r (fingerprint + first ack, as stored for replays), c (carries)
KEYS[8]  month earned hash  "<streamer>|<YYYY-MM>" -> coins the creator earned from gifts that month
KEYS[9]  room board zset    sender user id -> coins given in this room (the live session)
KEYS[10] room totals hash   {gross = coins given in the room, earned = the creator's share of them}
KEYS[11] rate bucket hash   {m = tokens left, in 1/1000 gift, at = ms of the last refill}: the sender's
                            gift rate across every gateway node; expires once full again

ARGV[1]  sender account    ARGV[2]  sender user id      ARGV[3]  price in coins (> 0)
ARGV[4]  fingerprint       ARGV[5]  entry id (uuid)     ARGV[6]  now, ms
ARGV[7]  idempotency ttl s ARGV[8]  combo window ms     ARGV[9]  combo max
ARGV[10] gift id           ARGV[11] journal length max  ARGV[12] entry meta, JSON
ARGV[13] platform account  ARGV[14] streamer user id    ARGV[15] month field "<streamer>|<YYYY-MM>"
ARGV[16] payee count n
ARGV[17] gifts per second per sender (sustained)       ARGV[18] gifts at once (burst)
ARGV[19 + 3i .. 21 + 3i]   payee i: account, share tiers "from:bps,from:bps" (ascending), carry field;
                           payee 0 is the creator

Returns one of
  {"OK", entryId, charged, balance, combo, atMs, earnedTotal, platformCoins, creatorBalance,
   monthEarned, roomEarned, payee0Coins, ...}
  {"REPLAY", entryId, charged, balance, combo, atMs}   the stored first result
  {"ERR", code}   ACCOUNT_FROZEN | INVALID_ARGUMENT (requestId reused for another gift)
                  | RATE_LIMITED | INSUFFICIENT_FUNDS | UNAVAILABLE (journal full) ; nothing was changed
A replay is answered whatever the rate; only a charged gift takes a token.
An "ASSERT ..." error reply is a broken invariant (shares over 100 %, legs that do not sum
to the price, a negative balance): nothing was changed either.

The split is domain/split-contracts.ts splitGift: each payee's share is the highest tier
the creator's month earnings (before this gift) have reached; each payee gets the whole
coins of carry + price x bps and keeps the rest; the platform gets the residual.
]]
local stored = redis.call('GET', KEYS[5])
if stored then
  local fingerprint, result = string.match(stored, '^([^\n]*)\n(.*)$')
  if fingerprint ~= ARGV[4] then return {'ERR', 'INVALID_ARGUMENT'} end
  local reply = {'REPLAY'}
  for field in string.gmatch(result, '[^|]+') do reply[#reply + 1] = field end
  return reply
end

if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {'ERR', 'ACCOUNT_FROZEN'} end
if redis.call('XLEN', KEYS[7]) >= tonumber(ARGV[11]) then return {'ERR', 'UNAVAILABLE'} end

local price = tonumber(ARGV[3])
if not price or price <= 0 or price % 1 ~= 0 then return redis.error_reply('ASSERT price is not a positive integer') end
local nowMs = tonumber(ARGV[6])
local ratePerSec, burst = tonumber(ARGV[17]), tonumber(ARGV[18])
if not ratePerSec or ratePerSec < 1 or not burst or burst < 1 then return redis.error_reply('ASSERT rate limit below one gift') end
local bucket = redis.call('HMGET', KEYS[11], 'm', 'at')
local tokensMilli = tonumber(bucket[1]) or burst * 1000
local refilledAt = tonumber(bucket[2]) or nowMs
-- Nodes' clocks differ by a little: a clock behind the last refill adds nothing, and takes nothing back.
if nowMs > refilledAt then
  tokensMilli = math.min(burst * 1000, tokensMilli + (nowMs - refilledAt) * ratePerSec)
  refilledAt = nowMs
end
if tokensMilli < 1000 then return {'ERR', 'RATE_LIMITED'} end

local balance = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if balance < price then return {'ERR', 'INSUFFICIENT_FUNDS'} end

local monthEarned = tonumber(redis.call('HGET', KEYS[8], ARGV[15]) or '0')
local function shareAt(tiers)
  local bps = nil
  for from, share in string.gmatch(tiers, '(%d+):(%d+)') do
    if monthEarned >= tonumber(from) then bps = tonumber(share) end
  end
  return bps
end

local payeeCount = tonumber(ARGV[16])
local remaining = price
local shareSum = 0
local payeeCoins, payeeCarries = {}, {}
for i = 0, payeeCount - 1 do
  local bps = shareAt(ARGV[20 + 3 * i])
  if not bps or bps < 0 or bps > 10000 then return redis.error_reply('ASSERT payee share outside 0..10000 bps') end
  shareSum = shareSum + bps
  local carry = tonumber(redis.call('HGET', KEYS[3], ARGV[21 + 3 * i]) or '0')
  local owed = carry + price * bps
  local coins = math.min(math.floor(owed / 10000), remaining)
  remaining = remaining - coins
  payeeCoins[i] = coins
  payeeCarries[i] = owed - coins * 10000
end
if shareSum > 10000 then return redis.error_reply('ASSERT payee shares exceed 10000 bps') end
local platformCoins = remaining
local legSum = platformCoins
for i = 0, payeeCount - 1 do
  if payeeCoins[i] < 0 then return redis.error_reply('ASSERT negative payee leg') end
  legSum = legSum + payeeCoins[i]
end
if platformCoins < 0 or legSum ~= price then return redis.error_reply('ASSERT legs do not sum to the price') end

local newBalance = redis.call('HINCRBY', KEYS[1], ARGV[1], -price)
if newBalance < 0 then return redis.error_reply('ASSERT sender balance below zero') end

local postings = ARGV[1] .. '=' .. string.format('%d', -price)
local carries = ''
local creatorBalance = 0
for i = 0, payeeCount - 1 do
  local carryText = string.format('%d', payeeCarries[i])
  redis.call('HSET', KEYS[3], ARGV[21 + 3 * i], carryText)
  carries = carries .. (i > 0 and ';' or '') .. ARGV[21 + 3 * i] .. '=' .. carryText
  if payeeCoins[i] > 0 or i == 0 then
    local payeeBalance = redis.call('HINCRBY', KEYS[1], ARGV[19 + 3 * i], payeeCoins[i])
    if i == 0 then creatorBalance = payeeBalance end
  end
  if payeeCoins[i] > 0 then
    postings = postings .. ';' .. ARGV[19 + 3 * i] .. '=' .. string.format('%d', payeeCoins[i])
  end
end
if platformCoins > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[13], platformCoins)
  postings = postings .. ';' .. ARGV[13] .. '=' .. string.format('%d', platformCoins)
end
local creatorCoins = payeeCoins[0] or 0
local earnedTotal = redis.call('HINCRBY', KEYS[4], ARGV[14], creatorCoins)
local monthEarnedAfter = redis.call('HINCRBY', KEYS[8], ARGV[15], creatorCoins)
redis.call('ZINCRBY', KEYS[9], price, ARGV[2])
redis.call('HINCRBY', KEYS[10], 'gross', price)
local roomEarned = redis.call('HINCRBY', KEYS[10], 'earned', creatorCoins)

redis.call('HSET', KEYS[11], 'm', string.format('%d', tokensMilli - 1000), 'at', string.format('%d', refilledAt))
redis.call('PEXPIRE', KEYS[11], math.ceil(burst * 1000 / ratePerSec) + 1000)

local combo = 1
local comboWindow = tonumber(ARGV[8])
if redis.call('HGET', KEYS[6], 'g') == ARGV[10] then
  combo = math.min(tonumber(redis.call('HGET', KEYS[6], 'n') or '0') + 1, tonumber(ARGV[9]))
end
redis.call('HSET', KEYS[6], 'g', ARGV[10], 'n', combo)
redis.call('PEXPIRE', KEYS[6], comboWindow)

local result = ARGV[5] .. '|' .. string.format('%d', price) .. '|' .. string.format('%d', newBalance)
  .. '|' .. combo .. '|' .. ARGV[6]
redis.call('SET', KEYS[5], ARGV[4] .. '\n' .. result, 'EX', tonumber(ARGV[7]))

-- The ack and the carries travel with the entry, so a Redis rebuilt from the ledger
-- answers replays with the first ack and splits the next gift exactly as before.
redis.call('XADD', KEYS[7], '*', 'id', ARGV[5], 'k', 'gift', 't', ARGV[6], 'p', postings, 'm', ARGV[12],
  'r', ARGV[4] .. '\n' .. result, 'c', carries)

local reply = {'OK', ARGV[5], price, newBalance, combo, ARGV[6], earnedTotal, platformCoins, creatorBalance,
  monthEarnedAfter, roomEarned}
for i = 0, payeeCount - 1 do reply[#reply + 1] = payeeCoins[i] end
return reply
