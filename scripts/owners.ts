/**
 * Owner CLI: npm run owners -- list | set <ownerKey> [--role owner|admin|viewer] [--active true|false]
 *                               [--workspace slug] [--clerk-user-id id] [--password-stdin] | remove <ownerKey>
 *                               | link-org <workspace> <org_…|none> [--jit on|off]
 *                               | migrate-clerk [--clerk-export users.json] [--apply] [--convex]   (set --email <address> on owners first)
 * Edits the owners JSON (WARDEN_OWNERS_FILE or --file, default .data/owners.json). Passwords are read from
 * stdin or a hidden prompt, hashed with PBKDF2-SHA256, and never echoed or logged.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../convex/lib/password";
import { parseOwnersJson, OrgLinkEntry, OwnerEntry, type OwnersFile } from "../convex/lib/ownersFile";

function usage(): never {
  console.error(
    "usage: owners list | set <ownerKey> [--role owner|admin|viewer] [--active true|false] [--workspace slug] [--clerk-user-id id] [--email address] [--password-stdin] | remove <ownerKey> | link-org <workspace> <org_…|none> [--jit on|off] | migrate-clerk [--clerk-export users.json] [--apply] [--convex]  [--file path]",
  );
  process.exit(2);
}

function load(file: string): OwnersFile {
  if (!existsSync(file)) return { version: 1, owners: [] };
  return parseOwnersJson(readFileSync(file, "utf8"));
}

function save(file: string, data: OwnersFile) {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  // Hidden interactive prompt: raw mode, nothing echoed.
  process.stderr.write("Password (input hidden): ");
  process.stdin.setRawMode(true);
  process.stdin.resume();
  return await new Promise((res, rej) => {
    let pw = "";
    process.stdin.on("data", (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          process.stdin.setRawMode(false);
          process.stdin.pause();
          process.stderr.write("\n");
          return res(pw);
        }
        if (ch === "\u0003") return rej(new Error("cancelled"));
        if (ch === "\u007f") pw = pw.slice(0, -1);
        else pw += ch;
      }
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const bool = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return false;
    args.splice(i, 1);
    return true;
  };
  const file = resolve(flag("--file") ?? process.env.WARDEN_OWNERS_FILE ?? ".data/owners.json");
  const cmd = args.shift();
  if (cmd === "list") {
    const data = load(file);
    if (data.owners.length === 0) {
      console.log(`no owners in ${file}`);
      return 0;
    }
    console.log(
      ["ownerKey".padEnd(24), "role".padEnd(7), "active".padEnd(7), "workspace".padEnd(12), "password", "clerk"].join(
        " ",
      ),
    );
    for (const o of data.owners) {
      console.log(
        [
          o.ownerKey.padEnd(24),
          o.role.padEnd(7),
          String(o.active).padEnd(7),
          (o.workspace ?? "default").padEnd(12),
          (o.passwordHash ? "set" : "-").padEnd(8),
          o.clerkUserId ? "linked" : "-",
        ].join(" "),
      );
    }
    return 0;
  }
  if (cmd === "set") {
    const role = flag("--role");
    const active = flag("--active");
    const workspace = flag("--workspace");
    const clerkUserId = flag("--clerk-user-id");
    const email = flag("--email");
    const pwStdin = bool("--password-stdin");
    const noPassword = bool("--no-password");
    const ownerKey = args.shift();
    if (!ownerKey || args.length) usage();
    const data = load(file);
    const existing = data.owners.find((o) => o.ownerKey === ownerKey);
    let passwordHash = existing?.passwordHash;
    // A new owner needs a password unless --no-password (Clerk-only); an update changes it only on request.
    if (pwStdin || (!existing && !noPassword)) {
      const pw = await readPassword(pwStdin);
      if (pw.length < MIN_PASSWORD_LENGTH) {
        console.error(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
        return 1;
      }
      passwordHash = await hashPassword(pw);
    }
    const entry = OwnerEntry.safeParse({
      ownerKey,
      passwordHash,
      clerkUserId: clerkUserId ?? existing?.clerkUserId,
      email: email ?? existing?.email,
      role: role ?? existing?.role ?? "admin",
      active: active === undefined ? (existing?.active ?? true) : active === "true",
      workspace: workspace ?? existing?.workspace,
    });
    if (!entry.success) {
      console.error(`invalid owner: ${entry.error.issues[0].path.join(".")}: ${entry.error.issues[0].message}`);
      return 1;
    }
    data.owners = existing
      ? data.owners.map((o) => (o.ownerKey === ownerKey ? entry.data : o))
      : [...data.owners, entry.data];
    save(file, data);
    console.log(
      `${existing ? "updated" : "created"} ${ownerKey} (role ${entry.data.role}, active ${entry.data.active}) in ${file}`,
    );
    console.log(
      'apply: `npm run warden -- owners apply` (running embedded runtime; or restart `npm start`) or run `npx convex env set WARDEN_OWNERS_JSON "$(cat <file>)" && npx convex run owners/admin:syncFromEnv`',
    );
    return 0;
  }
  if (cmd === "link-org") {
    // Operator tier: links a Clerk organization to a workspace (no org-admin proof needed); `none` unlinks.
    const jitFlag = flag("--jit");
    const workspace = args.shift();
    const org = args.shift();
    if (!workspace || !org || args.length || (jitFlag !== undefined && jitFlag !== "on" && jitFlag !== "off")) usage();
    const entry = OrgLinkEntry.safeParse({
      workspace,
      clerkOrgId: org === "none" ? null : org,
      jit: jitFlag === undefined ? undefined : jitFlag === "on",
    });
    if (!entry.success) {
      console.error(`invalid link: ${entry.error.issues[0].path.join(".")}: ${entry.error.issues[0].message}`);
      return 1;
    }
    const data = load(file);
    const links = (data.orgLinks ?? []).filter((l) => l.workspace !== workspace);
    const taken = entry.data.clerkOrgId && links.find((l) => l.clerkOrgId === entry.data.clerkOrgId);
    if (taken) {
      console.error(`${entry.data.clerkOrgId} is already linked to workspace ${taken.workspace} in ${file}`);
      return 1;
    }
    data.orgLinks = [...links, entry.data];
    save(file, data);
    console.log(
      entry.data.clerkOrgId
        ? `workspace ${workspace} → ${entry.data.clerkOrgId}${entry.data.jit === undefined ? "" : ` (just-in-time ${entry.data.jit ? "on" : "off"})`} in ${file}`
        : `workspace ${workspace}: organization link removed in ${file}`,
    );
    console.log(
      'apply: `npm run warden -- owners apply` (running embedded runtime; or restart `npm start`) or run `npx convex env set WARDEN_OWNERS_JSON "$(cat <file>)" && npx convex run owners/admin:syncFromEnv`',
    );
    return 0;
  }
  if (cmd === "migrate-clerk") {
    const { migrateClerk, defaultDeps } = await import("./owners-migrate");
    return await migrateClerk(args, defaultDeps(args.includes("--convex")));
  }
  if (cmd === "remove") {
    const ownerKey = args.shift();
    if (!ownerKey || args.length) usage();
    const data = load(file);
    const before = data.owners.length;
    data.owners = data.owners.filter((o) => o.ownerKey !== ownerKey);
    if (data.owners.length === before) {
      console.error(`no owner ${ownerKey}`);
      return 1;
    }
    save(file, data);
    console.log(`removed ${ownerKey}; on next sync it is deactivated`);
    return 0;
  }
  usage();
}

if (process.argv[1] && resolve(process.argv[1]).endsWith("owners.ts")) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : "failed");
      process.exit(1);
    },
  );
}
