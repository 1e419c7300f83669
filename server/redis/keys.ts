// Every key of the hot wallets carries one hash tag, so every script's keys sit in one
// slot and the scripts run unchanged on Redis Cluster (one slot per namespace; sharding
// across namespaces would need a cross-shard transfer protocol, which we do not have).

export interface WalletKeys {
  balances: string;
  frozen: string;
  carries: string;
  earned: string;
  journal: string;
  giftIdempotency(userId: string, requestId: string): string;
  operationIdempotency(operationKey: string): string;
  combo(roomId: string, userId: string): string;
  noIdempotency: string;
  /** Sorted set: gateway name -> ms until which it is taking gifts. */
  liveGateways: string;
}

export function walletKeys(namespace: string): WalletKeys {
  const tag = `{${namespace}}`;
  return {
    balances: `${tag}:bal`,
    frozen: `${tag}:frozen`,
    carries: `${tag}:carry`,
    earned: `${tag}:earned`,
    journal: `${tag}:journal`,
    giftIdempotency: (userId, requestId) => `${tag}:idem:gift:${userId}:${requestId}`,
    operationIdempotency: (operationKey) => `${tag}:idem:op:${operationKey}`,
    combo: (roomId, userId) => `${tag}:combo:${roomId}:${userId}`,
    noIdempotency: `${tag}:idem:none`,
    liveGateways: `${tag}:gateways`,
  };
}

export const flusherGroup = 'ledger-flusher';
