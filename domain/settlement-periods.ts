import { DomainError, invariant } from './errors.js';

// Settlement periods in UTC. A daily payee is settled T+1 (the run on day D+1 settles
// day D), a weekly one per ISO week (Monday to Sunday), a monthly one per calendar month.

export const schedules = ['daily', 'weekly', 'monthly'] as const;
export type Schedule = (typeof schedules)[number];

export interface Period {
  /** "2026-11-24", "2026-W48" or "2026-11". */
  id: string;
  schedule: Schedule;
  startMs: number;
  /** Exclusive. */
  endMs: number;
}

export const dayMs = 86_400_000;

export function isSchedule(value: unknown): value is Schedule {
  return typeof value === 'string' && (schedules as readonly string[]).includes(value);
}

function isoWeek(startMs: number): string {
  // The ISO week belongs to the year of its Thursday.
  const thursday = new Date(startMs + 3 * dayMs);
  const year = thursday.getUTCFullYear();
  const firstThursday = Date.UTC(year, 0, 1 + ((4 - new Date(Date.UTC(year, 0, 1)).getUTCDay() + 7) % 7));
  const week = 1 + Math.round((thursday.getTime() - firstThursday) / (7 * dayMs));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The UTC day holding an instant, `YYYY-MM-DD`: every period starts and ends on one's midnight. */
export function utcDay(atMs: number): string {
  return periodContaining('daily', atMs).id;
}

export function periodContaining(schedule: Schedule, atMs: number): Period {
  invariant(Number.isSafeInteger(atMs), `time ${atMs} is not whole milliseconds`);
  const at = new Date(atMs);
  const dayStart = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  if (schedule === 'daily') {
    return { id: new Date(dayStart).toISOString().slice(0, 10), schedule, startMs: dayStart, endMs: dayStart + dayMs };
  }
  if (schedule === 'weekly') {
    const startMs = dayStart - ((at.getUTCDay() + 6) % 7) * dayMs;
    return { id: isoWeek(startMs), schedule, startMs, endMs: startMs + 7 * dayMs };
  }
  const startMs = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
  const endMs = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
  return { id: new Date(startMs).toISOString().slice(0, 7), schedule, startMs, endMs };
}

/** The newest period that has ended by this time: the one a run at this time settles. */
export function lastClosedPeriod(schedule: Schedule, nowMs: number): Period {
  return periodContaining(schedule, periodContaining(schedule, nowMs).startMs - 1);
}

/** Parses "2026-11-25T00:00:00Z" style times given to an admin run. */
export function parseInstant(text: unknown): number {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) {
    throw new DomainError('INVALID_ARGUMENT', 'a time is ISO 8601, such as 2026-11-25T00:00:00Z');
  }
  const ms = Date.parse(text);
  // Date.parse rolls a day past the month's end over: 2026-02-30 would settle as 2026-03-02.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  const isCalendarDay = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!Number.isSafeInteger(ms) || !isCalendarDay) throw new DomainError('INVALID_ARGUMENT', `${text} is not a valid time`);
  return ms;
}
