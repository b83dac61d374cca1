// Shared helpers for the runtime suites (not a test file).
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { ConvexClient } from "convex/browser";
import { startRuntime, type Runtime, type RuntimeOptions } from "../../runtime/index.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURE = join(REPO, "runtime", "fixtures", "app");

/** The fixture resolves npm packages through a symlink to the repo's node_modules. */
export function ensureFixture() {
  const link = join(FIXTURE, "node_modules");
  if (!existsSync(link)) symlinkSync(join(REPO, "node_modules"), link, "dir");
}

export function tempDir(prefix = "warden-rt-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startFixture(opts: RuntimeOptions = {}): Promise<Runtime & { cleanup(): Promise<void> }> {
  ensureFixture();
  const dataDir = opts.dataDir ?? tempDir();
  // ownEnv: vitest.config.ts injects fake deployment env for convex-test suites; the runtime uses its own.
  const rt = await startRuntime({
    convexDir: join(FIXTURE, "convex"),
    dataDir,
    port: 0,
    quiet: true,
    ownEnv: true,
    ...opts,
  });
  return Object.assign(rt, {
    async cleanup() {
      await rt.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export function client(url: string) {
  return new ConvexClient(url, { webSocketConstructor: WebSocket as any, unsavedChangesWarning: false });
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 20): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`waitFor timed out${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A raw protocol connection (for limits and wire-level checks). */
export class RawSocket {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => this.messages.push(JSON.parse(d.toString())));
    ws.on("close", (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }
  static open(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/1.48.0/sync`, { headers });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RawSocket(ws)));
      ws.once("unexpected-response", (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once("error", reject);
    });
  }
  send(msg: unknown) {
    this.ws.send(JSON.stringify(msg));
  }
  connect() {
    this.send({ type: "Connect", sessionId: "s", connectionCount: 0, lastCloseReason: null, clientTs: Date.now() });
  }
  next(pred: (m: any) => boolean, timeoutMs = 3000) {
    return waitFor(() => this.messages.find(pred), timeoutMs, 5);
  }
  waitClosed(timeoutMs = 3000) {
    return waitFor(() => this.closed, timeoutMs, 5);
  }
  close() {
    this.ws.close();
  }
}
