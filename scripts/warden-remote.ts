/**
 * `npm run warden -- --remote <url> <command>`: the operator CLI against a remote deployment, with a
 * runner token from the device-code handshake (no deploy key, no owner password on this machine).
 *
 *   login [--name n]            start the handshake, show the code to approve in SyncBoard → Runners,
 *                               wait for the token; saved to --token-file (0600) or printed once
 *   whoami                      this token's runner name, workspace, capabilities, expiry
 *   token refresh               a new token (the old one stops working); only while the grant lives
 *   guard check                 needs capability guard
 *   rotation start [--batch-size n] | rotation status     needs rotation
 *   skills sync                 needs skills.sync
 *   owners list                 needs owners.read
 *
 * The token comes from --token-file <path> (a JSON file this CLI wrote, mode 0600, bound to the URL it
 * was issued for) or WARDEN_RUNNER_TOKEN. A token is never sent to another URL than its file names.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";

export type RemoteDeps = {
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  sleep: (ms: number) => Promise<void>;
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
};

type TokenFile = { url: string; token: string; expiresAt: number; name?: string };

class RemoteError extends Error {
  constructor(
    message: string,
    readonly exit = 1,
  ) {
    super(message);
  }
}

/** https, or http only to loopback (a token never crosses a network in clear). */
export function remoteBase(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RemoteError(`--remote needs a URL, got ${raw}`, 2);
  }
  const loopback = u.hostname === "localhost" || u.hostname === "127.0.0.1" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback))
    throw new RemoteError("--remote must be https:// (http:// only for localhost)", 2);
  if (u.username || u.password) throw new RemoteError("--remote must not carry credentials", 2);
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new RemoteError(`${name} needs a value`, 2);
  return v;
}

function readTokenFile(path: string, base: string): TokenFile {
  if (!existsSync(path)) throw new RemoteError(`no token file at ${path}: run \`login\` first`, 2);
  if (process.platform !== "win32" && (statSync(path).mode & 0o077) !== 0)
    throw new RemoteError(`${path} is readable by others: chmod 600 it`, 2);
  const f = JSON.parse(readFileSync(path, "utf8")) as TokenFile;
  if (f.url !== base) throw new RemoteError(`${path} holds a token for ${f.url}, not ${base}`, 2);
  return f;
}

function writeTokenFile(path: string, f: TokenFile) {
  writeFileSync(path, `${JSON.stringify(f)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function answer(res: Response): Promise<any> {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = (body as { error?: string }).error ?? `HTTP ${res.status}`;
    const hint =
      code === "RUNNER_TOKEN_INVALID"
        ? " (expired, replaced or revoked: run `login` again)"
        : code === "CAPABILITY_REQUIRED"
          ? " (this runner's grant does not list that capability)"
          : "";
    throw new RemoteError(`${code}${hint}`);
  }
  return body;
}

const OPS: Record<string, { method: "GET" | "POST"; path: string }> = {
  whoami: { method: "GET", path: "/runner/whoami" },
  "guard check": { method: "GET", path: "/runner/ops/guard" },
  "rotation start": { method: "POST", path: "/runner/ops/rotation/start" },
  "rotation status": { method: "GET", path: "/runner/ops/rotation/status" },
  "skills sync": { method: "POST", path: "/runner/ops/skills/sync" },
  "owners list": { method: "GET", path: "/runner/ops/owners" },
};

async function login(base: string, args: string[], tokenFile: string | undefined, d: RemoteDeps): Promise<number> {
  const name = flag(args, "--name") ?? "warden-cli";
  const s = await answer(
    await d.fetch(`${base}/runner/device/start`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
    }),
  );
  d.out(`Open SyncBoard → Runners and enter this code: ${s.userCode}`);
  d.out(`(it expires in ${Math.round(s.expiresIn / 60)} minutes; approve only the capabilities this CLI needs)`);
  const until = Date.now() + s.expiresIn * 1000;
  while (Date.now() < until) {
    await d.sleep(s.interval * 1000);
    const res = await d.fetch(`${base}/runner/device/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ deviceCode: s.deviceCode }),
    });
    if (res.ok) {
      const t = await res.json();
      if (tokenFile) {
        writeTokenFile(tokenFile, { url: base, token: t.token, expiresAt: t.expiresAt, name: t.name });
        d.out(
          `Approved as ${t.name} (${t.capabilities.join(", ")}). Token saved to ${tokenFile}; it expires ${new Date(t.expiresAt).toISOString()}.`,
        );
      } else {
        d.out(`Approved as ${t.name} (${t.capabilities.join(", ")}). This token is shown once:`);
        d.out(`export WARDEN_RUNNER_TOKEN=${t.token}`);
      }
      return 0;
    }
    const code = ((await res.json().catch(() => ({}))) as { error?: string }).error;
    if (code === "RUNNER_REQUEST_PENDING") continue;
    if (code === "RATE_LIMITED") {
      await d.sleep(Number(res.headers.get("retry-after") ?? "5") * 1000);
      continue;
    }
    throw new RemoteError(
      code === "RUNNER_REQUEST_DENIED" ? "an owner denied this runner" : `handshake failed: ${code ?? res.status}`,
    );
  }
  throw new RemoteError("the code expired before an owner approved it");
}

export async function remoteMain(rawUrl: string, argv: string[], d: RemoteDeps): Promise<number> {
  try {
    const base = remoteBase(rawUrl);
    const tokenFile = flag(argv, "--token-file");
    const [a, b] = argv.filter((x, i) => !x.startsWith("--") && !(i > 0 && argv[i - 1].startsWith("--")));
    if (a === "login") return await login(base, argv, tokenFile, d);
    const file = tokenFile ? readTokenFile(tokenFile, base) : null;
    const token = file?.token ?? d.env.WARDEN_RUNNER_TOKEN;
    if (!token)
      throw new RemoteError("no runner token: pass --token-file or set WARDEN_RUNNER_TOKEN (get one with `login`)", 2);
    const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    if (`${a} ${b}` === "token refresh") {
      const t = await answer(await d.fetch(`${base}/runner/token/refresh`, { method: "POST", headers: auth }));
      if (tokenFile) {
        writeTokenFile(tokenFile, { ...file!, token: t.token, expiresAt: t.expiresAt });
        d.out(
          `Refreshed; expires ${new Date(t.expiresAt).toISOString()} (grant ends ${new Date(t.grantExpiresAt).toISOString()}).`,
        );
      } else d.out(`export WARDEN_RUNNER_TOKEN=${t.token}`);
      return 0;
    }
    const op = OPS[a === "whoami" ? "whoami" : `${a} ${b}`];
    if (!op)
      throw new RemoteError(
        `unknown remote command: ${[a, b].filter(Boolean).join(" ")} (login, whoami, token refresh, ${Object.keys(OPS).slice(1).join(", ")})`,
        2,
      );
    let body: string | undefined;
    if (op.method === "POST") {
      const n = flag(argv, "--batch-size");
      if (n !== undefined && !(Number.isInteger(Number(n)) && Number(n) > 0))
        throw new RemoteError("--batch-size must be a positive integer", 2);
      body = JSON.stringify(n === undefined ? {} : { batchSize: Number(n) });
    }
    const value = await answer(await d.fetch(`${base}${op.path}`, { method: op.method, headers: auth, body }));
    d.out(JSON.stringify(value, null, 2));
    return 0;
  } catch (e) {
    if (e instanceof RemoteError) {
      d.err(e.message);
      return e.exit;
    }
    d.err(`could not reach the deployment: ${e instanceof Error ? e.message : e}`);
    return 3;
  }
}

export const realDeps = (): RemoteDeps => ({
  fetch: (url, init) => fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(30_000) }),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  env: process.env,
});
