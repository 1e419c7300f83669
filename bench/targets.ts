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
  /** null: not measured in this run (a scenario left out with --only, or run at another rate). */
  met: boolean | null;
}

export const fanoutTargetRatePerSec = 1_000;

/**
 * `medians`: each scenario's median round (what the table shows). `rounds`: every round,
 * for the checks that must hold in each one (flush lag, the money).
 */
export function checkTargets(medians: Readonly<Record<string, MeasuredScenario>>, ratios: Ratios,
  rounds: Readonly<Record<string, readonly MeasuredScenario[]>>): TargetCheck[] {
  const atLeast = (target: string, value: number | null, bound: number): TargetCheck =>
    value === null ? { target, measured: '-', met: null } : { target, measured: `${value}x`, met: value >= bound };
  const halfRate = medians['hot-room-half'];
  const fanout = medians.fanout;
  const fanoutAtRate = fanout !== undefined && fanout.offeredPerSec === fanoutTargetRatePerSec;
  const allRounds = Object.values(rounds).flat();
  const lagged = allRounds.filter((r) => r.flushLagMaxSeconds !== undefined && r.correctness !== undefined);
  const lagMax = Math.max(...lagged.map((r) => r.flushLagMaxSeconds ?? 0));
  const checked = allRounds.filter((r) => r.correctness !== undefined);
  return [
    atLeast('spread >= 10x baseline-postgres-spread', ratios.spreadVsBaseline, 10),
    atLeast('spread >= 0.6x ack-only', ratios.spreadVsAckOnly, 0.6),
    atLeast('hot-room >= 30x baseline-postgres-hot-room', ratios.hotRoomVsBaseline, 30),
    halfRate === undefined
      ? { target: 'hot-room-half ack p99 <= 50 ms', measured: '-', met: null }
      : { target: 'hot-room-half ack p99 <= 50 ms', measured: `${halfRate.ackMs.p99} ms`, met: halfRate.ackMs.p99 <= 50 },
    fanout?.correctness === undefined
      ? { target: 'fanout: every receiver gets every gift', measured: '-', met: null }
      : { target: 'fanout: every receiver gets every gift', measured: fanout.correctness.deliveriesComplete ? 'all' : 'some missed',
        met: fanout.correctness.deliveriesComplete },
    fanout?.deliveryMs === undefined
      ? { target: `fanout delivery p99 <= 150 ms at ${fanoutTargetRatePerSec} gifts/s`, measured: '-', met: null }
      : { target: `fanout delivery p99 <= 150 ms at ${fanoutTargetRatePerSec} gifts/s`,
        measured: `${fanout.deliveryMs.p99} ms at ${fanout.offeredPerSec ?? '?'}/s`, met: fanoutAtRate ? fanout.deliveryMs.p99 <= 150 : null },
    lagged.length === 0
      ? { target: 'flush lag max <= 2 s in every scenario', measured: '-', met: null }
      : { target: 'flush lag max <= 2 s in every scenario', measured: `${lagMax} s`, met: lagMax <= 2 },
    checked.length === 0
      ? { target: 'no coin lost or invented (reconcile, ledger gifts == acks)', measured: '-', met: null }
      : { target: 'no coin lost or invented (reconcile, ledger gifts == acks)', measured: `${checked.length} checks`,
        met: checked.every((r) => r.correctness?.ok === true) },
  ];
}

export function targetLine(check: TargetCheck): string {
  const verdict = check.met === null ? 'not measured' : check.met ? 'met' : 'MISSED';
  return `${verdict.padEnd(12)} ${check.target}: ${check.measured}`;
}
