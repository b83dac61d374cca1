/**
 * Throttled partial writes of a reply being generated (agent/run.ts → agent/stream:partial).
 * Pure; no Convex imports. Bounded: the first text is written at once, then at most one write per
 * STREAM_INTERVAL_MS (STREAM_SLOW_INTERVAL_MS after STREAM_FAST_WRITES), never more than
 * MAX_STREAM_WRITES per reply, one write in flight at a time, and text that arrives while a
 * write waits is coalesced (only the newest is written). A write that reports false (the
 * message is finished or superseded) stops the writer.
 */

export const STREAM_INTERVAL_MS = 250;
export const STREAM_FAST_WRITES = 20;
export const STREAM_SLOW_INTERVAL_MS = 1_000;
export const MAX_STREAM_WRITES = 60;

export type PartialWriter = {
  /** The newest text so far (computed only when written). */
  push(current: () => string): void;
  /** Stops writing and waits for a write in flight; no write happens after this resolves. */
  close(): Promise<void>;
  /** Writes started so far. */
  readonly writes: number;
};

export function partialWriter(write: (text: string) => Promise<boolean>, now: () => number = Date.now): PartialWriter {
  let pending: (() => string) | null = null;
  let inFlight: Promise<void> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = -Infinity;
  let lastText = "";
  let writes = 0;
  let stopped = false;

  const kick = (): void => {
    if (stopped || inFlight || !pending) return;
    if (writes >= MAX_STREAM_WRITES) {
      stopped = true;
      return;
    }
    const wait = last + (writes < STREAM_FAST_WRITES ? STREAM_INTERVAL_MS : STREAM_SLOW_INTERVAL_MS) - now();
    if (wait > 0) {
      timer ??= setTimeout(() => {
        timer = undefined;
        kick();
      }, wait);
      return;
    }
    const text = pending();
    pending = null;
    if (!text || text === lastText) return;
    last = now();
    lastText = text;
    writes++;
    inFlight = write(text)
      .then(
        (ok) => {
          if (!ok) stopped = true;
        },
        () => {
          stopped = true;
        },
      )
      .finally(() => {
        inFlight = null;
        kick();
      });
  };

  return {
    push(current) {
      pending = current;
      kick();
    },
    async close() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
    get writes() {
      return writes;
    },
  };
}
