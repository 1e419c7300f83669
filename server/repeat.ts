/** A task run again and again, each run starting only after the one before it ended. */
export interface Repeating {
  /** No run starts after this; one in progress finishes on its own. */
  stop(): void;
}

/**
 * Runs `task` after `delayMs(0)`, then again `delayMs(d)` after each run ends, d being how long
 * that run took. Unlike setInterval, a run slower than the period is never joined by the
 * next: a reconcile that outgrew its minute would otherwise pile runs up on PostgreSQL. A
 * run that throws is the task's to report; the next one is scheduled all the same. The
 * timer never keeps the process alive.
 */
export function repeatAfterEach(task: () => Promise<void>, delayMs: (lastRunMs: number) => number, clock: () => number = Date.now): Repeating {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (lastRunMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      const startedMs = clock();
      void task().catch(() => undefined).finally(() => schedule(clock() - startedMs));
    }, delayMs(lastRunMs));
    timer.unref();
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
