import { earningsAccount } from '../../domain/accounts.js';
import { defaultCreatorBps, defaultRuleId, type PayeeShare } from '../../domain/commission.js';

/** Who shares a gift to this streamer, and by how much; payee 0 is always the creator. */
export function payeesFor(streamerId: string): PayeeShare[] {
  const creator = earningsAccount(streamerId);
  return [{ accountId: creator, bps: defaultCreatorBps, carryKey: `${creator}|${defaultRuleId}` }];
}
