/**
 * Shared timing for the benchmarks: the median of interleaved pairs.
 *
 * Each pair times "ours" and the reference back to back (which one goes first alternates), and
 * yields one ratio; the reported ratio is the median over the pairs, so a load spike from another
 * process hits one pair, not the result. Nothing here imports a Node built-in, so it also runs
 * under scripts/bench/default-runtime.mjs.
 */

export type Op = () => unknown;

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface Slice {
  n: number;
  ms: number;
}

/**
 * Runs `fn` for about `ms`: synchronously in batches of `batch` calls, or, with `inFlight` set,
 * awaiting every result with that many calls outstanding at once (1 = one after another).
 */
export async function slice(fn: Op, ms: number, inFlight = 0, batch = 32): Promise<Slice> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while ((t = performance.now()) - t0 < ms) {
    if (inFlight === 0) {
      for (let i = 0; i < batch; i++) fn();
      n += batch;
    } else if (inFlight === 1) {
      for (let i = 0; i < batch; i++) await fn();
      n += batch;
    } else {
      const all: unknown[] = new Array(inFlight);
      for (let i = 0; i < inFlight; i++) all[i] = fn();
      await Promise.all(all);
      n += inFlight;
    }
  }
  return { n, ms: t - t0 };
}

export interface Side {
  fn: Op;
  /** 0: call synchronously; 1: await each call; k > 1: k calls in flight at once. */
  inFlight?: number;
}

export interface PairResult {
  /** Median over pairs of (ours ops/s ÷ reference ops/s). */
  ratio: number;
  /** Lowest and highest pair ratio. */
  min: number;
  max: number;
  /** Pooled ops/s of each side over all pairs. */
  ours: number;
  ref: number;
  pairs: number;
}

/** `pairs` interleaved pairs of `sliceMs` per side, after one warm-up slice each. */
export async function comparePairs(
  ours: Side,
  ref: Side,
  opts: { pairs: number; sliceMs: number; warmupMs?: number },
): Promise<PairResult> {
  const warm = opts.warmupMs ?? opts.sliceMs;
  await slice(ours.fn, warm, ours.inFlight ?? 0);
  await slice(ref.fn, warm, ref.inFlight ?? 0);
  const ratios: number[] = [];
  const tot = { on: 0, oms: 0, rn: 0, rms: 0 };
  for (let i = 0; i < opts.pairs; i++) {
    let o: Slice;
    let r: Slice;
    if (i % 2 === 0) {
      o = await slice(ours.fn, opts.sliceMs, ours.inFlight ?? 0);
      r = await slice(ref.fn, opts.sliceMs, ref.inFlight ?? 0);
    } else {
      r = await slice(ref.fn, opts.sliceMs, ref.inFlight ?? 0);
      o = await slice(ours.fn, opts.sliceMs, ours.inFlight ?? 0);
    }
    tot.on += o.n;
    tot.oms += o.ms;
    tot.rn += r.n;
    tot.rms += r.ms;
    ratios.push(o.n / o.ms / (r.n / r.ms));
  }
  return {
    ratio: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    ours: (tot.on / tot.oms) * 1000,
    ref: (tot.rn / tot.rms) * 1000,
    pairs: opts.pairs,
  };
}

export const ops = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Left-aligned text columns, right-aligned numeric ones (`numeric[i]`). */
export function table(head: string[], rows: string[][], numeric: boolean[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
