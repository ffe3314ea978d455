/** The most a wait grows by at random, so endpoints that failed together are not retried in lockstep. */
export const RETRY_JITTER = 0.1;

/**
 * After the `attempts`-th attempt of a message failed, the wait before the next one in milliseconds:
 * the schedule's `attempts`-th entry (seconds) plus up to 10 % jitter, or null when the schedule is
 * spent and the delivery has FAILED. A manual retry past the schedule is a single attempt.
 */
export function retryDelayMs(schedule: readonly number[], attempts: number, random: () => number = Math.random) {
  const seconds = attempts >= 1 ? schedule[attempts - 1] : schedule[0];
  if (seconds === undefined) return null;
  return Math.round(seconds * 1000 * (1 + RETRY_JITTER * random()));
}
