// Every key of the hot wallets carries one hash tag, so every script's keys sit in one
// slot and the scripts run unchanged on Redis Cluster (one slot per namespace; sharding
// across namespaces would need a cross-shard transfer protocol, which we do not have).

export interface WalletKeys {
  balances: string;
  frozen: string;
  carries: string;
  earned: string;
  /** Hash: "<streamer>|<YYYY-MM>" -> coins the creator earned from gifts that month (picks the tier). */
  monthEarned: string;
  journal: string;
  /** Sorted set per room (a live session): sender -> coins given. */
  roomBoard(roomId: string): string;
  /** Hash per room: gross coins given, and the creator's share of them. */
  roomTotals(roomId: string): string;
  giftIdempotency(userId: string, requestId: string): string;
  operationIdempotency(operationKey: string): string;
  combo(roomId: string, userId: string): string;
  /** Hash per sender: their gift rate bucket, shared by every gateway node. */
  giftRate(userId: string): string;
  /** String per user, expiring: a chargeback is taking coins back, so the wallet stays frozen whatever else lifts. */
  chargebackHold(userId: string): string;
  noIdempotency: string;
  /** Sorted set: gateway name -> ms until which it is taking gifts. */
  liveGateways: string;
  /** Stream through which gateway nodes pass each other their live updates (trimmed by age). */
  gatewayRelay: string;
}

export function walletKeys(namespace: string): WalletKeys {
  const tag = `{${namespace}}`;
  return {
    balances: `${tag}:bal`,
    frozen: `${tag}:frozen`,
    carries: `${tag}:carry`,
    earned: `${tag}:earned`,
    monthEarned: `${tag}:month-earned`,
    journal: `${tag}:journal`,
    roomBoard: (roomId) => `${tag}:room:${roomId}:board`,
    roomTotals: (roomId) => `${tag}:room:${roomId}:totals`,
    giftIdempotency: (userId, requestId) => `${tag}:idem:gift:${userId}:${requestId}`,
    operationIdempotency: (operationKey) => `${tag}:idem:op:${operationKey}`,
    combo: (roomId, userId) => `${tag}:combo:${roomId}:${userId}`,
    giftRate: (userId) => `${tag}:rate:gift:${userId}`,
    chargebackHold: (userId) => `${tag}:hold:chargeback:${userId}`,
    noIdempotency: `${tag}:idem:none`,
    liveGateways: `${tag}:gateways`,
    gatewayRelay: `${tag}:gateway-relay`,
  };
}

export const flusherGroup = 'ledger-flusher';
