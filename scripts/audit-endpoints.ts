/**
 * Endpoint inventory: every exported Convex function and HTTP route with its access class.
 *   npm run audit:endpoints [-- --json] [--dir convex] [--readme README.md]
 * Exits non-zero if any public function or route is unclassified, or if the unauthenticated
 * (`none`) set differs from the README's documented public list.
 */
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ACCESS_TAG } from "../convex/access/classes";

type Row = { kind: string; name: string; access: string };

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e === "_generated" || e === "node_modules") continue;
      walk(p, out);
    } else if (/^[^.]+\.(ts|js)$/.test(e) && e !== "schema.ts") {
      out.push(p);
    }
  }
  return out;
}

function kindOf(fn: any): string | null {
  if (!fn || (typeof fn !== "object" && typeof fn !== "function")) return null;
  if (fn.isQuery) return "query";
  if (fn.isMutation) return "mutation";
  if (fn.isAction) return "action";
  return null;
}

export function readmePublicList(readme: string): Set<string> {
  const m = readme.match(/<!-- public-endpoints:start -->([\s\S]*?)<!-- public-endpoints:end -->/);
  if (!m) throw new Error("README has no <!-- public-endpoints:start --> … <!-- public-endpoints:end --> block");
  const set = new Set<string>();
  for (const line of m[1].split("\n")) {
    const code = line.match(/^\s*[-*]\s+`([^`]+)`/);
    if (code) set.add(code[1].trim());
  }
  return set;
}

export async function inventory(convexDir: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const file of walk(convexDir).sort()) {
    const mod = relative(convexDir, file)
      .replace(/\.(ts|js)$/, "")
      .split("\\")
      .join("/");
    const exports = await import(pathToFileURL(file).href);
    if (mod === "http" && exports.default?.getRoutes) {
      for (const [path, method, handler] of exports.default.getRoutes()) {
        if (method === "OPTIONS") continue;
        rows.push({ kind: "route", name: `${method} ${path}`, access: handler?.[ACCESS_TAG] ?? "UNCLASSIFIED" });
      }
      continue;
    }
    for (const [name, fn] of Object.entries(exports)) {
      const kind = kindOf(fn);
      if (!kind) continue;
      const f = fn as any;
      const access = f.isInternal ? "internal" : (f[ACCESS_TAG] ?? "UNCLASSIFIED");
      rows.push({ kind, name: `${mod}:${name}`, access });
    }
  }
  return rows;
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = resolve(opt("--dir") ?? "convex");
  const readmePath = resolve(opt("--readme") ?? "README.md");
  const rows = await inventory(dir);
  const problems: string[] = [];
  for (const r of rows) if (r.access === "UNCLASSIFIED") problems.push(`unclassified ${r.kind}: ${r.name}`);
  const none = new Set(rows.filter((r) => r.access === "none").map((r) => r.name));
  const documented = existsSync(readmePath) ? readmePublicList(readFileSync(readmePath, "utf8")) : new Set<string>();
  for (const n of none) if (!documented.has(n)) problems.push(`public (none) but not in README's public list: ${n}`);
  for (const n of documented)
    if (!none.has(n)) problems.push(`README lists ${n} as public but it is not an unauthenticated endpoint`);

  if (args.includes("--json")) {
    console.log(JSON.stringify({ endpoints: rows, problems }, null, 2));
  } else {
    const w = Math.max(...rows.map((r) => r.name.length), 10);
    console.log(`${"endpoint".padEnd(w)}  ${"kind".padEnd(8)}  access`);
    for (const r of rows.filter((r) => r.access !== "internal"))
      console.log(`${r.name.padEnd(w)}  ${r.kind.padEnd(8)}  ${r.access}`);
    const internal = rows.filter((r) => r.access === "internal").length;
    console.log(
      `\n${rows.length - internal} public endpoints, ${internal} internal functions, ${problems.length} problems`,
    );
    for (const p of problems) console.log(`PROBLEM: ${p}`);
  }
  process.exit(problems.length ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]).endsWith("audit-endpoints.ts")) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
