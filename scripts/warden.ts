/**
 * Operator CLI for a running embedded runtime: `npm run warden -- <command>`. Talks to the process over
 * `<data dir>/operator.sock` (mode 0600; data dir from WARDEN_DATA_DIR or ./.data). Every command is an
 * internal function; on a Convex deployment run the same one with `npx convex run` (shown by `help`).
 */
import { connect } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseOwnersJson } from "../convex/lib/ownersFile";
import { realDeps, remoteMain } from "./warden-remote";

type Call = { fn: string; args: Record<string, unknown> };

const HELP = `usage: npm run warden -- <command>

  owners list                       people and their memberships, from the live database
  owners apply [--file path]        apply the owners JSON (edited by \`npm run owners\`) now, no restart
  rotation start [--batch-size n]   re-encrypt every secret with the current key, in the background
  rotation status                   how many secrets are still on older key versions
  guard check                       fail unless the encryption key is set and not a published one
  run <module:function> [json]      any function of the operator allowlist

On a Convex deployment the same functions run with \`npx convex run\`:
  owners list       npx convex run owners/operator:list
  owners apply      npx convex env set WARDEN_OWNERS_JSON "$(cat .data/owners.json)" && npx convex run owners/admin:syncFromEnv
  rotation start    npx convex run secrets/rotation:start
  rotation status   npx convex run secrets/rotation:globalStatus
  guard check       npx convex run secrets/guard:check

Data dir: WARDEN_DATA_DIR or ./.data; the runtime listens on <data dir>/operator.sock.

A remote deployment, with a runner token approved in SyncBoard → Runners (scripts/warden-remote.ts):
  --remote <url> login [--name n] [--token-file f]     then: whoami, token refresh, guard check,
  rotation start|status, skills sync, owners list      (each needs its capability on the token)`;

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`${name} needs a value`);
  return v;
}

export function parse(argv: string[], dataDir: string): Call {
  const [a, b, ...rest] = argv;
  const cmd = `${a ?? ""} ${b ?? ""}`.trim();
  switch (cmd) {
    case "owners list":
      return { fn: "owners/operator:list", args: {} };
    case "owners apply": {
      const file = resolve(flag(rest, "--file") ?? process.env.WARDEN_OWNERS_FILE ?? join(dataDir, "owners.json"));
      if (!existsSync(file)) throw new UsageError(`no owners file at ${file} (create it with \`npm run owners -- set …\`)`);
      return { fn: "owners/admin:syncOwners", args: { owners: parseOwnersJson(readFileSync(file, "utf8")).owners } };
    }
    case "rotation start": {
      const n = flag(rest, "--batch-size");
      if (n !== undefined && !(Number.isInteger(Number(n)) && Number(n) > 0)) throw new UsageError("--batch-size must be a positive integer");
      return { fn: "secrets/rotation:start", args: n === undefined ? {} : { batchSize: Number(n) } };
    }
    case "rotation status":
      return { fn: "secrets/rotation:globalStatus", args: {} };
    case "guard check":
      return { fn: "secrets/guard:check", args: {} };
  }
  if (a === "run" && b) {
    let args: unknown = {};
    if (rest[0] !== undefined) {
      try {
        args = JSON.parse(rest[0]);
      } catch {
        throw new UsageError("arguments must be a JSON object");
      }
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) throw new UsageError("arguments must be a JSON object");
    return { fn: b, args: args as Record<string, unknown> };
  }
  throw new UsageError(HELP);
}

function send(socketPath: string, call: Call): Promise<any> {
  return new Promise((resolvePromise, reject) => {
    const s = connect(socketPath);
    let buf = "";
    s.setTimeout(120_000, () => s.destroy(new Error("no answer from the runtime within 120 s")));
    s.on("connect", () => s.write(`${JSON.stringify(call)}\n`));
    s.on("data", (d) => (buf += d.toString("utf8")));
    s.on("end", () => {
      try {
        resolvePromise(JSON.parse(buf));
      } catch {
        reject(new Error("unreadable answer from the runtime"));
      }
    });
    s.on("error", reject);
  });
}

function printOwners(v: { owners: Array<{ ownerKey: string; active: boolean; hasPassword: boolean; clerkLinked: boolean; memberships: Array<{ workspace: string; role: string; active: boolean }> }>; more: boolean }) {
  const rows = v.owners.map((o) => [
    o.ownerKey,
    o.active ? "active" : "inactive",
    [o.hasPassword ? "password" : "", o.clerkLinked ? "clerk" : ""].filter(Boolean).join("+") || "none",
    o.memberships.map((m) => `${m.workspace}:${m.role}${m.active ? "" : "(off)"}`).join(", ") || "-",
  ]);
  const head = ["OWNER KEY", "STATUS", "SIGN-IN", "MEMBERSHIPS"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
  if (v.more) console.log("(more owners than shown)");
}

export async function main(argv: string[]): Promise<number> {
  const r = argv.indexOf("--remote");
  if (r >= 0) return await remoteMain(argv[r + 1] ?? "", [...argv.slice(0, r), ...argv.slice(r + 2)].filter((x) => x !== "--json"), realDeps());
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const json = argv.includes("--json");
  const dataDir = resolve(process.env.WARDEN_DATA_DIR ?? ".data");
  let call: Call;
  try {
    call = parse(argv.filter((a) => a !== "--json"), dataDir);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    return 2;
  }
  const socketPath = join(dataDir, "operator.sock");
  if (!existsSync(socketPath)) {
    console.error(`No running Warden runtime for ${dataDir} (no ${socketPath}). Start it with \`npm start\`, or set WARDEN_DATA_DIR.`);
    return 3;
  }
  let res: any;
  try {
    res = await send(socketPath, call);
  } catch (e) {
    console.error(`Could not reach the runtime at ${socketPath}: ${e instanceof Error ? e.message : e}`);
    return 3;
  }
  if (!res?.ok) {
    if (res?.error === "OPERATOR_FUNCTION_NOT_ALLOWED") console.error(`${call.fn} is not on the operator allowlist: ${res.allowed.join(", ")}`);
    else console.error(`${call.fn} failed: ${res?.message ?? res?.error ?? "unknown error"} (request ${res?.requestId})`);
    return 1;
  }
  if (call.fn === "owners/operator:list" && !json) printOwners(res.value);
  else console.log(JSON.stringify(res.value, null, 2));
  return 0;
}

if (process.argv[1] && /warden\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
