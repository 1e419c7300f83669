import { accountKind, accountOwner } from '../../domain/accounts.js';
import { carryReasonText } from '../../domain/settlement.js';
import { Fiat, formatFiat } from '../../domain/fiat.js';
import type { PayoutRow } from './payouts.js';
import { toCsv } from './csv.js';
import type { SettlementRow } from './settlements.js';

// The statement a payee reads: what was owed, what was withheld and why, what is paid.

export interface Statement {
  id: string;
  payee: { kind: 'streamer' | 'agency'; id: string | null; account: string };
  period: { id: string; schedule: string; start: string; end: string };
  status: 'settling' | 'settled' | 'carried_over';
  reason: string | null;
  reasonText: string | null;
  coins: { carriedIn: number; earned: number; adjustments: number; total: number };
  currency: string;
  fiatPerCoin: string;
  gross: string;
  taxProfile: string | null;
  taxRate: string;
  tax: string;
  fee: string;
  payable: string;
  payoutMethod: string;
  entryId: string | null;
  createdAt: string;
  settledAt: string | null;
  payout: { id: string; status: string; method: string; amount: string; attempts: number; transferId: string | null; lastError: string | null } | null;
}

export function toStatement(row: SettlementRow, payout: PayoutRow | undefined): Statement {
  const fiat = (text: string) => formatFiat(new Fiat(text), row.currency);
  return {
    id: row.id,
    payee: { kind: accountKind(row.payee_account) === 'agency' ? 'agency' : 'streamer', id: accountOwner(row.payee_account), account: row.payee_account },
    period: { id: row.period_id, schedule: row.schedule, start: row.period_start.toISOString(), end: row.period_end.toISOString() },
    status: row.status === 'posting' ? 'settling' : row.status,
    reason: row.reason,
    reasonText: row.reason === null ? null : carryReasonText[row.reason],
    coins: { carriedIn: Number(row.carried_in_coins), earned: Number(row.earned_coins), adjustments: Number(row.adjustment_coins), total: Number(row.coins) },
    currency: row.currency,
    fiatPerCoin: new Fiat(row.fiat_per_coin).toString(),
    gross: fiat(row.gross),
    taxProfile: row.tax_profile,
    taxRate: new Fiat(row.tax_rate).toString(),
    tax: fiat(row.tax),
    fee: fiat(row.fee),
    payable: fiat(row.payable),
    payoutMethod: row.payout_method,
    entryId: row.entry_id,
    createdAt: row.created_at.toISOString(),
    settledAt: row.settled_at?.toISOString() ?? null,
    payout: payout === undefined ? null : {
      id: payout.id, status: payout.status, method: payout.method, amount: fiat(payout.amount), attempts: payout.attempts,
      transferId: payout.transfer_id, lastError: payout.last_error,
    },
  };
}

/** One line per item of the statement, as a spreadsheet or an accountant expects it. */
export function statementCsv(statement: Statement): string {
  const lines: string[][] = [
    ['statement', 'payee', 'period', 'status', 'line', 'coins', 'amount', 'currency', 'note'],
  ];
  const line = (item: string, coins: string, amount: string, note = '') =>
    lines.push([statement.id, statement.payee.account, statement.period.id, statement.status, item, coins, amount, statement.currency, note]);
  line('carried_in', String(statement.coins.carriedIn), '', 'unsettled coins from earlier periods');
  line('earned', String(statement.coins.earned), '', `gift earnings ${statement.period.start} to ${statement.period.end}`);
  line('adjustments', String(statement.coins.adjustments), '', 'returned or re-sent payouts in the period');
  line('total_coins', String(statement.coins.total), '', '');
  line('gross', '', statement.gross, `${statement.coins.total} coins x ${statement.fiatPerCoin}, rounded down`);
  line('tax_withheld', '', `-${statement.tax}`, `${statement.taxProfile ?? 'no tax profile on file'} at ${statement.taxRate}`);
  line('fees', '', `-${statement.fee}`, `${statement.payoutMethod} payout`);
  line('payable', '', statement.payable, statement.reasonText ?? '');
  return toCsv(lines);
}
