/**
 * The promise's outcome, or a rejection with late() when it has not settled within ms.
 * The work goes on (a Redis command stays queued); only the wait ends. No timer outlives it.
 */
export async function within<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(late()), ms); });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
