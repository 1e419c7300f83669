import { readFileSync } from 'node:fs';

// What the bench reads of processes and of the machine from /proc (Linux): CPU time and memory.

/** A process's CPU time (user + system) in jiffies; 0 when it is gone or unknown. */
export function cpuTicks(pid: number | null): number {
  if (pid === null) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** All cores' busy and total jiffies from /proc/stat: busy is everything but idle and iowait. */
export function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const total = fields.reduce((sum, n) => sum + n, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** CPU jiffies of the server and Redis, the machine's busy and total jiffies, and when they were read. */
export interface CpuUsage { server: number; redis: number; machine: { busy: number; total: number }; atMs: number }

/** A process's resident memory in MiB; 0 when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
    return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
  } catch {
    return 0;
  }
}
