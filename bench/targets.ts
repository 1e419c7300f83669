// The targets a bench run is held to on the 2-core machine (README "Benchmarks"), checked
// against what the run measured, so a load tester reads met or missed instead of working
// it out from the table.

/** What the checks read of a scenario's result. */
export interface MeasuredScenario {
  ackMs: { p99: number };
  deliveryMs?: { p99: number };
  flushLagMaxSeconds?: number;
  offeredPerSec?: number;
  correctness?: { ok: boolean; deliveriesComplete: boolean };
}

export interface Ratios {
  spreadVsBaseline: number | null;
  hotRoomVsBaseline: number | null;
  spreadVsAckOnly: number | null;
}

export interface TargetCheck {
  target: string;
  /** What was measured, as printed; '-' when the run did not measure it. */
  measured: string;
  /**
   * null: not measured in this run (a scenario left out with --only), or measured but not
   * judged (a speed target, in a run of other sizes or of fast durability: see `notJudged`).
   */
  met: boolean | null;
  /** Why a measured speed target was not judged. */
  notJudged?: string;
}

export const fanoutTargetRatePerSec = 1_000;
export const fanoutTargetReceivers = 2_000;

/**
 * `medians`: each scenario's median round (what the table shows). `rounds`: every round,
 * for the checks that must hold in each one (flush lag, the money). `speedNotJudged`: why
 * this run's speed says nothing about the speed targets (they are set for the default
 * sizes in durable mode), or null when it does. Correctness is judged at any size.
 */
export function checkTargets(medians: Readonly<Record<string, MeasuredScenario>>, ratios: Ratios,
  rounds: Readonly<Record<string, readonly MeasuredScenario[]>>, speedNotJudged: string | null = null): TargetCheck[] {
  /** `measured` undefined: the run did not measure it. */
  const check = (target: string, measured: string | undefined, met: boolean | null): TargetCheck =>
    (measured === undefined ? { target, measured: '-', met: null } : { target, measured, met });
  const speed = (target: string, measured: string | undefined, met: boolean | null): TargetCheck => {
    const result = check(target, measured, met);
    return speedNotJudged === null || result.measured === '-' ? result : { ...result, met: null, notJudged: speedNotJudged };
  };
  const atLeast = (target: string, value: number | null, bound: number): TargetCheck =>
    speed(target, value === null ? undefined : `${value}x`, value !== null && value >= bound);
  const halfRate = medians['hot-room-half'];
  const fanout = medians.fanout;
  const fanoutDelivery = fanout?.deliveryMs;
  const allRounds = Object.values(rounds).flat();
  const lagged = allRounds.filter((r) => r.flushLagMaxSeconds !== undefined && r.correctness !== undefined);
  const lagMax = Math.max(...lagged.map((r) => r.flushLagMaxSeconds ?? 0));
  const checked = allRounds.filter((r) => r.correctness !== undefined);
  return [
    atLeast('spread >= 10x baseline-postgres-spread', ratios.spreadVsBaseline, 10),
    atLeast('spread >= 0.6x ack-only', ratios.spreadVsAckOnly, 0.6),
    atLeast('hot-room >= 30x baseline-postgres-hot-room', ratios.hotRoomVsBaseline, 30),
    speed('hot-room-half ack p99 <= 50 ms', halfRate && `${halfRate.ackMs.p99} ms`, halfRate !== undefined && halfRate.ackMs.p99 <= 50),
    check('fanout: every receiver gets every gift', fanout?.correctness && (fanout.correctness.deliveriesComplete ? 'all' : 'some missed'),
      fanout?.correctness?.deliveriesComplete ?? null),
    speed(`fanout delivery p99 <= 150 ms at ${fanoutTargetRatePerSec} gifts/s`,
      fanoutDelivery && `${fanoutDelivery.p99} ms at ${fanout?.offeredPerSec ?? '?'}/s`,
      fanoutDelivery !== undefined && fanoutDelivery.p99 <= 150),
    check('flush lag max <= 2 s in every scenario', lagged.length === 0 ? undefined : `${lagMax} s`, lagMax <= 2),
    check('no coin lost or invented (reconcile, ledger gifts == acks)', checked.length === 0 ? undefined : `${checked.length} checks`,
      checked.every((r) => r.correctness?.ok === true)),
  ];
}

export function targetLine(check: TargetCheck): string {
  const verdict = check.notJudged !== undefined ? 'not judged' : check.met === null ? 'not measured' : check.met ? 'met' : 'MISSED';
  return `${verdict.padEnd(12)} ${check.target}: ${check.measured}${check.notJudged === undefined ? '' : ` (${check.notJudged})`}`;
}
