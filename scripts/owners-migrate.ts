/**
 * `npm run owners -- migrate-clerk [--clerk-export users.json] [--apply] [--convex]`
 * Links existing owners to Clerk users by verified email. Dry run first: prints what it would change and
 * changes nothing unless --apply. Clerk users come from an export file (Clerk dashboard / Backend API
 * JSON), or, without one, from the Clerk Backend API when CLERK_SECRET_KEY is set. Owners' emails are
 * the ones in the owners file (`npm run owners -- set <key> --email …`, then apply). The change runs in
 * the live database as owners/migrate:linkClerkUsers: over the embedded runtime's operator socket, or
 * with --convex through `npx convex run` on a Convex deployment. Audited there (owner.clerkLinked).
 */
import { connect } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fetchClerkUsers, parseClerkUsers, type ClerkUserEmails } from "../convex/lib/clerkMigration";

const FN = "owners/migrate:linkClerkUsers";
const CHUNK = 200;

type Row = { clerkUserId: string; ownerKey: string | null; email: string | null; outcome: string };
export type MigrateDeps = {
  call: (fn: string, args: Record<string, unknown>) => Promise<{ applied: boolean; rows: Row[] }>;
  fetch: typeof fetch;
  env: Record<string, string | undefined>;
  out: (l: string) => void;
  err: (l: string) => void;
};

function socketCall(socketPath: string) {
  return (fn: string, args: Record<string, unknown>) =>
    new Promise<any>((res, rej) => {
      const s = connect(socketPath);
      let buf = "";
      s.setTimeout(120_000, () => s.destroy(new Error("no answer from the runtime within 120 s")));
      s.on("connect", () => s.write(`${JSON.stringify({ fn, args })}\n`));
      s.on("data", (d) => (buf += d.toString("utf8")));
      s.on("end", () => {
        try {
          const r = JSON.parse(buf);
          if (!r.ok) rej(new Error(r.message ?? r.error ?? "failed"));
          else res(r.value);
        } catch {
          rej(new Error("unreadable answer from the runtime"));
        }
      });
      s.on("error", rej);
    });
}

function convexRunCall(fn: string, args: Record<string, unknown>) {
  const out = execFileSync("npx", ["convex", "run", fn, JSON.stringify(args)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return Promise.resolve(JSON.parse(out));
}

export function defaultDeps(useConvex: boolean): MigrateDeps {
  const dataDir = resolve(process.env.WARDEN_DATA_DIR ?? ".data");
  const sock = join(dataDir, "operator.sock");
  return {
    call: useConvex
      ? convexRunCall
      : (fn, args) => {
          if (!existsSync(sock))
            throw new Error(
              `no running Warden runtime at ${sock} (start it, or pass --convex for a Convex deployment)`,
            );
          return socketCall(sock)(fn, args);
        },
    fetch: (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(30_000) }),
    env: process.env,
    out: (l) => console.log(l),
    err: (l) => console.error(l),
  };
}

const LABEL: Record<string, string> = {
  link: "link",
  already: "already linked",
  no_match: "no owner with a matching verified email",
  ambiguous: "ambiguous (several owners or Clerk users share the email): skipped",
  conflict: "owner linked to another Clerk user: skipped",
  inactive: "owner inactive: skipped",
};

export async function migrateClerk(args: string[], d: MigrateDeps): Promise<number> {
  const i = args.indexOf("--clerk-export");
  const exportFile = i >= 0 ? args[i + 1] : undefined;
  const apply = args.includes("--apply");
  let users: ClerkUserEmails[];
  try {
    if (exportFile) {
      const parsed = parseClerkUsers(JSON.parse(readFileSync(resolve(exportFile), "utf8")));
      users = parsed.users;
      if (parsed.skipped) d.err(`skipped ${parsed.skipped} entries without a usable Clerk user id`);
    } else if (d.env.CLERK_SECRET_KEY) {
      users = await fetchClerkUsers(d.env.CLERK_SECRET_KEY, d.fetch);
    } else {
      d.err("give --clerk-export <users.json>, or set CLERK_SECRET_KEY to read users from the Clerk Backend API");
      return 2;
    }
  } catch (e) {
    d.err(`could not read Clerk users: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
  const withEmail = users.filter((u) => u.emails.length > 0);
  if (users.length > withEmail.length)
    d.out(`${users.length - withEmail.length} Clerk user(s) without a verified email: not considered`);
  const rows: Row[] = [];
  try {
    for (let k = 0; k < withEmail.length; k += CHUNK)
      rows.push(...(await d.call(FN, { users: withEmail.slice(k, k + CHUNK), apply })).rows);
  } catch (e) {
    d.err(e instanceof Error ? e.message : String(e));
    return 3;
  }
  const counts: Record<string, number> = {};
  for (const r of rows) {
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    if (r.outcome !== "no_match")
      d.out(
        `${r.outcome === "link" ? (apply ? "LINKED " : "WOULD LINK ") : "  "}${r.ownerKey ?? "-"} ← ${r.clerkUserId} (${r.email ?? "-"}): ${LABEL[r.outcome] ?? r.outcome}`,
      );
  }
  d.out(
    `${apply ? "applied" : "dry run"}: ${
      Object.entries(counts)
        .map(([k, n]) => `${k}=${n}`)
        .join(" ") || "nothing to do"
    }`,
  );
  if (!apply && counts.link) d.out("nothing changed; re-run with --apply to link these");
  return 0;
}
