// Every bound in one place. Exceeding one is a typed error, never a silent clamp.

export const limits = {
  giftCountMin: 1,
  giftCountMax: 9999,
  /** A gift's price in the catalog (migration 00002's check): at most 9,999 of the dearest stay a safe integer. */
  giftCoinsMax: 1_000_000,
  giftNameLengthMax: 40,
  requestIdPattern: /^[A-Za-z0-9_-]{8,64}$/,
  idPattern: /^[A-Za-z0-9_.:-]{1,64}$/,
  idempotencyWindowSec: 24 * 60 * 60,
  // An entry with an idempotency key is refused (UNAVAILABLE) while the journal holds an
  // unflushed entry this old: past the window its key's record is gone from Redis and the
  // ledger does not have it yet, so the key could not be checked. An hour below the window,
  // so an entry flushed while a retry is being checked still has its record.
  idempotentPostingLagMaxMs: 23 * 60 * 60 * 1000,
  comboWindowMs: 10_000,
  comboMax: 1_000_000,
  roomsPerSocketMax: 20,
  // Connections one user holds open on one gateway node (phone, tablet, dashboard, a few
  // tabs): each holds buffers, timers and its user channel, so one token must not open
  // thousands of them.
  connectionsPerUserMax: 10,
  // room:join, room:leave and wallet:get each read storage: a connection may send this many
  // a second (and this many at once) before they answer RATE_LIMITED. gift:send has its own
  // per-user rate below.
  requestsPerSecondPerConnection: 20,
  requestBurstPerConnection: 40,
  socketPayloadBytesMax: 16 * 1024,
  httpBodyBytesMax: 64 * 1024,
  // Stripe's events carry whole objects (metadata, descriptions, dispute evidence): one
  // refused as too large would be retried for days and never applied.
  webhookBodyBytesMax: 1024 * 1024,
  pageSizeDefault: 50,
  pageSizeMax: 200,
  grantCoinsMax: 1_000_000_000,
  /** A coin package's coins, and each of its bonuses. */
  packageCoinsMax: 1_000_000_000,
  // Each new order opens a PaymentIntent at Stripe: a user may hold this many unpaid ones
  // (they expire after 30 minutes), so a script cannot open them without end.
  unpaidOrdersPerUserMax: 10,
  // Rooms a streamer holds open at once: each is a row, a cached entry on every node and live
  // figures in Redis, so a script with a streamer token cannot open them without end. The
  // streamer's earnings view lists them all.
  openRoomsPerStreamerMax: 20,
  /** A closed room's board and totals stay in Redis this long, for the streamer's recent sessions. */
  closedRoomFiguresKeptSec: 7 * 86_400,
  recentSessionsMax: 20,
  reasonLengthMax: 200,
  // Coins travel as JSON integers: never past the safe-integer range.
  coinsMax: Number.MAX_SAFE_INTEGER,
  giftsPerSecondPerUser: 50,
  giftBurstPerUser: 100,
  // 50 ms doubled the frames a big room costs its viewers and the server, and on the
  // fanout bench delivered later, not sooner (p99 ~1.1 s against ~0.2-0.3 s at 100 ms).
  broadcastTickMs: 100,
  broadcastQueueMaxPerRoom: 5_000,
  // A connection that has this much unread broadcast waiting is dropped: it reconnects
  // and catches up, instead of growing the server's memory without bound.
  socketBacklogBytesMax: 8 * 1024 * 1024,
  // Room frames written per event-loop turn before acks get their turn.
  broadcastWritesPerTurn: 200,
  // A room's top-gifters board goes out at most once per interval, and only after a gift.
  leaderboardIntervalMs: 1_000,
  // A node asks PostgreSQL again whether a cached room is still open after this long, so a
  // room closed through another node stops taking gifts and joins here within it.
  roomRecheckMs: 2_000,
  // An open room in which no gift has credited its streamer for this long is closed: a
  // streamer who never closes rooms would otherwise meet the 20-room bound for good.
  roomIdleCloseMinutes: 24 * 60,
  leaderboardSize: 10,
  flushBatchSizeMax: 1_000,
  flushIntervalMs: 100,
  // Two flush loops overlap one batch's COMMIT wait with the next batch's work; one fell
  // behind the evalsha ceiling (lag ~4 s), two keep it under 0.5 s on two cores.
  flushLanes: 2,
  journalLengthMax: 500_000,
  // A store that stops answering (a stalled disk under appendfsync always, a paused VM)
  // turns requests into UNAVAILABLE after this long instead of leaving acks unanswered.
  // Far above a saturated server's Redis round trip (~0.2 s at p50 in the hot-room bench).
  storageTimeoutMs: 5_000,
  // An HTTP request still unanswered after this long is answered 503 UNAVAILABLE (its work
  // may go on and take effect; retried with the same Idempotency-Key, it is not done twice):
  // a PostgreSQL or Stripe that stopped answering no longer holds the client without end.
  httpTimeoutMs: 30_000,
  // The admin's bulk routes (reconcile, a settlement run, the payout export) walk every
  // account or payee: they get longer.
  bulkAdminTimeoutMs: 600_000,
} as const;
