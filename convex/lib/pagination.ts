/**
 * Page sizes: every paginated public function passes its client's `paginationOpts` through
 * `clampPage`, so no call returns more than PAGE_MAX rows (tests/scale/pageSizes.test.ts asks every
 * one of them for 100,000). Pure: no Convex imports.
 */
export const PAGE_MAX = 100;
/** Unauthenticated feeds get smaller pages. */
export const PUBLIC_PAGE_MAX = 50;

/** The client's options with numItems forced into 1..max (NaN, negatives and fractions included). */
export function clampPage<T extends { numItems: number }>(opts: T, max: number = PAGE_MAX): T {
  const n = Math.floor(Number(opts.numItems));
  return { ...opts, numItems: Number.isFinite(n) ? Math.min(Math.max(1, n), max) : 1 };
}
