// WebSocket connection hardening (seeds 000/001): new connections per IP in a sliding 60 s window,
// concurrent connections per identity, and a JSON-lines connection log.
import { appendFile } from "node:fs/promises";

export type ConnLimits = {
  maxFrameBytes: number;
  newPerIpPerMinute: number;
  concurrentPerIdentity: number;
  /** messages one WebSocket connection may send per minute (seed 000 T604); over it the socket closes with 4429 */
  messagesPerConnectionPerMinute: number;
  /** mutations + actions one signed-in member may call per minute over all their connections */
  callsPerMemberPerMinute: number;
  /** strict socket auth: a token that expires or fails closes an authenticated socket with 4401 */
  strictAuth: boolean;
};

export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnLimits {
  const num = (v: string | undefined, d: number) => {
    const n = Number(v);
    return v !== undefined && v !== "" && Number.isFinite(n) && n > 0 ? Math.floor(n) : d;
  };
  return {
    maxFrameBytes: 1024 * 1024,
    newPerIpPerMinute: num(env.WARDEN_WS_MAX_CONN_PER_MIN, 10),
    concurrentPerIdentity: num(env.WARDEN_WS_MAX_CONCURRENT_PER_IDENTITY, 5),
    messagesPerConnectionPerMinute: num(env.WARDEN_WS_MAX_MESSAGES_PER_MIN, 600),
    callsPerMemberPerMinute: num(env.WARDEN_WS_MAX_CALLS_PER_MEMBER_PER_MIN, 300),
    strictAuth: env.WARDEN_WS_STRICT_AUTH === "1",
  };
}

/** Sliding-window counter: at most `limit` events per `windowMs` per key. */
export class SlidingWindow {
  private events = new Map<string, number[]>();
  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Records the event and returns true if it is within the limit; rejected events are not counted. */
  tryAdd(key: string, now = Date.now()): boolean {
    const cutoff = now - this.windowMs;
    const list = (this.events.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length >= this.limit) {
      this.events.set(key, list);
      return false;
    }
    list.push(now);
    this.events.set(key, list);
    if (this.events.size > 10_000) this.prune(now);
    return true;
  }

  private prune(now: number) {
    const cutoff = now - this.windowMs;
    for (const [k, list] of this.events) if (!list.some((t) => t > cutoff)) this.events.delete(k);
  }
}

/** Counts live connections per identity (tokenIdentifier). */
export class IdentityCounter {
  private counts = new Map<string, number>();
  constructor(private readonly limit: number) {}
  tryAcquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.limit) return false;
    this.counts.set(key, n + 1);
    return true;
  }
  release(key: string) {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
  count(key: string) {
    return this.counts.get(key) ?? 0;
  }
}

export type ConnEvent = {
  event: "connect" | "authenticated" | "unauthenticated" | "disconnect" | "rejected";
  ip: string;
  subject?: string | null;
  conn?: number;
  reason?: string;
  code?: number;
  requestId?: string;
};

/** Writes connection events as JSON lines to stdout (unless quiet) and to a log file. */
export class ConnectionLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly file: string,
    private readonly quiet: boolean,
    private readonly onEvent?: (e: ConnEvent) => void,
  ) {}
  write(e: ConnEvent) {
    this.onEvent?.(e);
    const line = JSON.stringify({ time: new Date().toISOString(), ...e, subject: e.subject ?? "anonymous" });
    if (!this.quiet) process.stdout.write(`${line}\n`);
    this.chain = this.chain.then(() => appendFile(this.file, `${line}\n`, { mode: 0o600 })).catch(() => undefined);
  }
  flush() {
    return this.chain;
  }
}
