/** Why a wallet that owes coins is frozen (see wallet-freezes.ts). */
export function debtFreezeReason(owed: number | bigint): string {
  return `owes ${owed} coins after a chargeback`;
}
