/**
 * Operator CLI for a running embedded runtime: `npm run warden -- <command>`. Talks to the process over
 * `<data dir>/operator.sock` (mode 0600; data dir from WARDEN_DATA_DIR or ./.data). Every command is an
 * internal function; on a Convex deployment run the same one with `npx convex run` (shown by `help`).
 */
import { connect } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { BackupError, lockHolder, offlineBackup, restoreBackup, type BackupManifest } from "../runtime/backup";
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
  backup <dir> [--include-keys]     consistent copy of the data dir (online through the running runtime,
                                    else offline with the data dir locked); keys left out unless asked
  restore <backup> [--data-dir d] [--keys file | --no-keys] [--force] [--allow-engine-upgrade]
                                    verify checksums and restore into a stopped (unlocked) data dir

On a Convex deployment the same functions run with \`npx convex run\`:
  owners list       npx convex run owners/operator:list
  owners apply      npx convex env set WARDEN_OWNERS_JSON "$(cat .data/owners.json)" && npx convex run owners/admin:syncFromEnv
  rotation start    npx convex run secrets/rotation:start
  rotation status   npx convex run secrets/rotation:globalStatus
  guard check       npx convex run secrets/guard:check
  backup            npx convex export --path backup.zip   (add --include-file-storage for files)
  restore           npx convex import --replace-all backup.zip

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
      if (!existsSync(file))
        throw new UsageError(`no owners file at ${file} (create it with \`npm run owners -- set …\`)`);
      return { fn: "owners/admin:syncOwners", args: { owners: parseOwnersJson(readFileSync(file, "utf8")).owners } };
    }
    case "rotation start": {
      const n = flag(rest, "--batch-size");
      if (n !== undefined && !(Number.isInteger(Number(n)) && Number(n) > 0))
        throw new UsageError("--batch-size must be a positive integer");
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
    if (typeof args !== "object" || args === null || Array.isArray(args))
      throw new UsageError("arguments must be a JSON object");
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

function printOwners(v: {
  owners: Array<{
    ownerKey: string;
    active: boolean;
    hasPassword: boolean;
    clerkLinked: boolean;
    memberships: Array<{ workspace: string; role: string; active: boolean }>;
  }>;
  more: boolean;
}) {
  const rows = v.owners.map((o) => [
    o.ownerKey,
    o.active ? "active" : "inactive",
    [o.hasPassword ? "password" : "", o.clerkLinked ? "clerk" : ""].filter(Boolean).join("+") || "none",
    o.memberships.map((m) => `${m.workspace}:${m.role}${m.active ? "" : "(off)"}`).join(", ") || "-",
  ]);
  const head = ["OWNER KEY", "STATUS", "SIGN-IN", "MEMBERSHIPS"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows])
    console.log(
      r
        .map((c, i) => c.padEnd(w[i]))
        .join("  ")
        .trimEnd(),
    );
  if (v.more) console.log("(more owners than shown)");
}

function summary(m: BackupManifest & { dir?: string }, dir: string, files: number) {
  const docs = Object.entries(m.documents)
    .map(([p, t]) => `${p === "" ? "app" : p}: ${Object.values(t).reduce((a, b) => a + b, 0)} documents`)
    .join(", ");
  console.log(
    `Backup (${m.mode}) written to ${dir}: ${docs}${m.walEntries ? ` + ${m.walEntries} log entries` : ""}, ${m.blobs} stored files, ${files} files checksummed, log position ${m.seq}.`,
  );
  if (m.keys.included)
    console.log(
      "WARNING: this backup contains keys.json (the secret-encryption and signing keys). Store it like the keys themselves.",
    );
  else
    console.log(
      `Keys are NOT in this backup. Restoring needs the keys file (fingerprint ${m.keys.fingerprint ?? "unknown"}): keep a copy of keys.json somewhere else (see README, key custody).`,
    );
}

/** `backup <dir>`: through the running runtime when there is one, else offline (the data dir locked meanwhile). */
async function backupCmd(args: string[], dataDir: string): Promise<number> {
  const target = args.find((a) => !a.startsWith("--"));
  if (!target) throw new UsageError("usage: backup <dir> [--include-keys]");
  const dir = resolve(target);
  const includeKeys = args.includes("--include-keys");
  const socketPath = join(dataDir, "operator.sock");
  if (lockHolder(dataDir) !== null) {
    if (!existsSync(socketPath)) {
      console.error(
        `A runtime holds ${dataDir} but its operator socket is off (WARDEN_OPERATOR_SOCKET=0); enable it, or stop the runtime for an offline backup.`,
      );
      return 3;
    }
    const res = await send(socketPath, { fn: "runtime:backup", args: { dir, includeKeys } });
    if (!res?.ok) {
      console.error(`backup failed: ${res?.message ?? res?.error ?? "unknown error"} (request ${res?.requestId})`);
      return 1;
    }
    summary(res.value, dir, res.value.files);
    return 0;
  }
  const m = await offlineBackup(dataDir, dir, { includeKeys });
  summary(m, dir, m.files.length);
  return 0;
}

function restoreCmd(args: string[], dataDir: string): number {
  const positional = args.filter((a, i) => !a.startsWith("--") && !["--data-dir", "--keys"].includes(args[i - 1]));
  if (positional.length !== 1)
    throw new UsageError(
      "usage: restore <backup> [--data-dir d] [--keys file | --no-keys] [--force] [--allow-engine-upgrade]",
    );
  const keysFile = flag(args, "--keys");
  if (keysFile && args.includes("--no-keys")) throw new UsageError("--keys and --no-keys exclude each other");
  const target = resolve(flag(args, "--data-dir") ?? dataDir);
  const r = restoreBackup(positional[0], target, {
    keysFile,
    noKeys: args.includes("--no-keys"),
    force: args.includes("--force"),
    allowEngineUpgrade: args.includes("--allow-engine-upgrade"),
  });
  const m = r.manifest;
  console.log(
    `Restored the ${m.mode} backup of ${m.createdAt} (log position ${m.seq}, ${m.files.length} files verified) into ${r.dataDir}.`,
  );
  if (r.movedAside) console.log(`The previous contents were moved to ${r.movedAside}.`);
  if (r.keys === "none")
    console.log(
      "No keys were restored: supply SKILL_SECRET_ENCRYPTION_KEY / WARDEN_AUTH_PRIVATE_JWK, or the runtime generates new keys and stored secrets will not decrypt.",
    );
  else
    console.log(
      `Keys: ${r.keys === "supplied" ? "installed from the file given" : "restored from the backup"} as ${join(r.dataDir, "keys.json")} (0600).`,
    );
  if (r.keys !== "none" && process.env.WARDEN_KEYS_FILE)
    console.log(
      `Note: WARDEN_KEYS_FILE=${process.env.WARDEN_KEYS_FILE} is set, so the runtime reads its keys there, not from the restored keys.json.`,
    );
  console.log(`Start it with WARDEN_DATA_DIR=${r.dataDir} npm start.`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const r = argv.indexOf("--remote");
  if (r >= 0)
    return await remoteMain(
      argv[r + 1] ?? "",
      [...argv.slice(0, r), ...argv.slice(r + 2)].filter((x) => x !== "--json"),
      realDeps(),
    );
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const json = argv.includes("--json");
  const dataDir = resolve(process.env.WARDEN_DATA_DIR ?? ".data");
  if (argv[0] === "backup" || argv[0] === "restore") {
    try {
      return argv[0] === "backup" ? await backupCmd(argv.slice(1), dataDir) : restoreCmd(argv.slice(1), dataDir);
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(e.message);
        return 2;
      }
      if (e instanceof BackupError) {
        console.error(`${argv[0]} refused (${e.code}): ${e.message}`);
        return e.code === "IN_USE" ? 3 : 1;
      }
      console.error(`${argv[0]} failed: ${e instanceof Error ? e.message : e}`);
      return 1;
    }
  }
  let call: Call;
  try {
    call = parse(
      argv.filter((a) => a !== "--json"),
      dataDir,
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    return 2;
  }
  const socketPath = join(dataDir, "operator.sock");
  if (!existsSync(socketPath)) {
    console.error(
      `No running Warden runtime for ${dataDir} (no ${socketPath}). Start it with \`npm start\`, or set WARDEN_DATA_DIR.`,
    );
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
    if (res?.error === "OPERATOR_FUNCTION_NOT_ALLOWED")
      console.error(`${call.fn} is not on the operator allowlist: ${res.allowed.join(", ")}`);
    else
      console.error(`${call.fn} failed: ${res?.message ?? res?.error ?? "unknown error"} (request ${res?.requestId})`);
    return 1;
  }
  if (call.fn === "owners/operator:list" && !json) printOwners(res.value);
  else console.log(JSON.stringify(res.value, null, 2));
  return 0;
}

if (process.argv[1] && /warden\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
