export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Start of the hour containing `t` (summary bucket). */
export function hourBucket(t: number): number {
  return t - (t % HOUR);
}
