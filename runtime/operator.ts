// The operator's channel into a running embedded runtime: a unix socket `<data dir>/operator.sock`
// (mode 0600 inside the 0700 data dir, so only the account that runs Warden can connect) that runs
// an allowlisted internal function against the live database. `npm run warden` is its client.
// Protocol: one JSON line `{ fn, args }` in, one JSON line `{ ok, value | error, requestId }` out.
import { createServer, type Server, type Socket } from "node:net";
import { appendFile } from "node:fs/promises";
import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { convexToJson, jsonToConvex } from "convex/values";
import type { Engine } from "./engine.js";
import { newRequestId } from "./httputil.js";

export const OPERATOR_SOCKET = "operator.sock";

/** What the operator may run (the same names work with `npx convex run` on a Convex deployment). */
export const OPERATOR_FUNCTIONS = [
  "secrets/rotation:start",
  "secrets/rotation:globalStatus",
  "secrets/guard:check",
  "owners/operator:list",
  "owners/admin:syncOwners",
  "owners/admin:syncFromEnv",
  "owners/migrate:linkClerkUsers",
] as const;

/** Commands of the runtime itself (not Convex functions), e.g. `runtime:backup` (`npm run warden -- backup`). */
export type RuntimeCommands = Record<string, (args: Record<string, unknown>) => Promise<unknown>>;

const MAX_REQUEST_BYTES = 1024 * 1024;
const IDLE_MS = 30_000;

export class OperatorChannel {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  readonly path: string;
  private readonly auditFile: string;

  constructor(
    dataDir: string,
    private readonly engine: Engine,
    private readonly log: (m: string) => void,
    private readonly commands: RuntimeCommands = {},
  ) {
    this.path = join(dataDir, OPERATOR_SOCKET);
    this.auditFile = join(dataDir, "operator.log");
  }

  async start(): Promise<void> {
    // A socket left by a crashed run (the data dir LOCK is ours, so no live runtime owns it).
    if (existsSync(this.path) && lstatSync(this.path).isSocket()) unlinkSync(this.path);
    const server = createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private onConnection(socket: Socket) {
    this.sockets.add(socket);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("utf8");
      if (buf.length > MAX_REQUEST_BYTES)
        return void this.reply(socket, { ok: false, error: "REQUEST_TOO_LARGE", requestId: newRequestId() });
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      socket.removeAllListeners("data");
      void this.handle(socket, buf.slice(0, nl));
    });
  }

  private reply(socket: Socket, body: Record<string, unknown>) {
    socket.end(`${JSON.stringify(body)}\n`);
  }

  private async handle(socket: Socket, line: string) {
    const requestId = newRequestId();
    let fn = "";
    try {
      const req = JSON.parse(line) as { fn?: unknown; args?: unknown };
      fn = typeof req.fn === "string" ? req.fn.slice(0, 100) : "";
      const command = Object.hasOwn(this.commands, fn) ? this.commands[fn] : null;
      if (command) {
        const value = await command((req.args ?? {}) as Record<string, unknown>);
        await this.audit({ requestId, fn, ok: true });
        return this.reply(socket, { ok: true, value, requestId });
      }
      if (!(OPERATOR_FUNCTIONS as readonly string[]).includes(fn)) {
        await this.audit({ requestId, fn, ok: false, error: "OPERATOR_FUNCTION_NOT_ALLOWED" });
        return this.reply(socket, {
          ok: false,
          error: "OPERATOR_FUNCTION_NOT_ALLOWED",
          allowed: OPERATOR_FUNCTIONS,
          requestId,
        });
      }
      const args = jsonToConvex((req.args ?? {}) as any) as Record<string, unknown>;
      const value = await this.engine.callSystem(fn, args);
      await this.audit({ requestId, fn, ok: true });
      this.reply(socket, { ok: true, value: convexToJson((value ?? null) as any), requestId });
    } catch (e) {
      // The operator sees the message (it is their own deployment); the audit line keeps only the fact.
      const message = e instanceof Error ? e.message.slice(0, 2000) : "failed";
      await this.audit({ requestId, fn, ok: false, error: "FAILED" });
      this.log(`operator ${fn || "(bad request)"} failed (request ${requestId}): ${message}`);
      this.reply(socket, { ok: false, error: "FAILED", message, requestId });
    }
  }

  /** One JSON line per command in `<data dir>/operator.log` (never the arguments: they may hold password hashes). */
  private async audit(e: { requestId: string; fn: string; ok: boolean; error?: string }) {
    await appendFile(this.auditFile, `${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`, {
      mode: 0o600,
    }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
