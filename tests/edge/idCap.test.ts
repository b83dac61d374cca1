import { describe, expect, test } from "vitest";
import { makeFunctionReference } from "convex/server";
import { internal } from "../../convex/_generated/api";
import { modules } from "../../convex/test.setup";
import { accessOf } from "../../convex/access/classes";
import { MAX_IDS_PER_ARG } from "../../convex/lib/idCap";
import { member, newT } from "../harness";

/**
 * Seed 001: at most 50 ids in any filter argument. Walks every public function's argument
 * validators (as the deployment exports them), finds each array of ids at any depth, and calls the
 * function with 51 ids there (all other arguments minimal and valid) as a caller who passes access.
 */
type VJson = { type: string; [k: string]: any };
type Target = {
  fn: string;
  kind: "query" | "mutation" | "action";
  access: string;
  argPath: string;
  build: (n: number) => Record<string, unknown>;
};

let idSeq = 0;
function fakeId(table: string) {
  const counter = String(900000 + idSeq++);
  return counter.padStart(32 - table.length, "0") + table;
}

function isIdArray(v: VJson) {
  return (
    v.type === "array" &&
    (v.value.type === "id" || (v.value.type === "union" && v.value.value.every((m: VJson) => m.type === "id")))
  );
}

/** Minimal valid value; `at` marks the one array (by object identity) that gets `n` ids. */
function minimal(v: VJson, at: VJson | null, n: number): unknown {
  if (v === at) {
    const table = v.value.type === "id" ? v.value.tableName : v.value.value[0].tableName;
    return Array.from({ length: n }, () => fakeId(table));
  }
  switch (v.type) {
    case "id":
      return fakeId(v.tableName);
    case "string":
      return "x";
    case "number":
      return 0;
    case "bigint":
      return 0n;
    case "boolean":
      return false;
    case "null":
      return null;
    case "literal":
      return v.value;
    case "bytes":
      return new ArrayBuffer(0);
    case "any":
      return null;
    case "array":
      return [];
    case "record":
      return {};
    case "object":
      return objectOf(v.value, at, n);
    case "union":
      return minimal(v.value.find((m: VJson) => contains(m, at)) ?? v.value[0], at, n);
    default:
      throw new Error(`validator ${v.type}`);
  }
}
function objectOf(fields: Record<string, { fieldType: VJson; optional: boolean }>, at: VJson | null, n: number) {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields))
    if (!f.optional || contains(f.fieldType, at)) out[k] = minimal(f.fieldType, at, n);
  return out;
}
function contains(v: VJson, at: VJson | null): boolean {
  if (!at) return false;
  if (v === at) return true;
  if (v.type === "array") return contains(v.value, at);
  if (v.type === "object")
    return Object.values(v.value as Record<string, { fieldType: VJson }>).some((f) => contains(f.fieldType, at));
  if (v.type === "union") return v.value.some((m: VJson) => contains(m, at));
  if (v.type === "record") return contains(v.values.fieldType, at);
  return false;
}
function idArrays(v: VJson, path: string, out: [VJson, string][]) {
  if (isIdArray(v)) out.push([v, path]);
  if (v.type === "array") idArrays(v.value, `${path}[]`, out);
  if (v.type === "object")
    for (const [k, f] of Object.entries(v.value as Record<string, { fieldType: VJson }>))
      idArrays(f.fieldType, `${path}.${k}`, out);
  if (v.type === "union") v.value.forEach((m: VJson, i: number) => idArrays(m, `${path}|${i}`, out));
  if (v.type === "record") idArrays(v.values.fieldType, `${path}{}`, out);
}

async function targets(): Promise<Target[]> {
  const found: Target[] = [];
  for (const [file, load] of Object.entries(modules)) {
    // Convex skips names with more than one dot (convex.config.ts, auth.config.ts, test.setup.ts).
    if (file.includes("_generated") || !/\.ts$/.test(file) || (file.split("/").pop()!.match(/\./g) ?? []).length > 1)
      continue;
    const mod = file.replace(/^\.\//, "").replace(/\.ts$/, "");
    const exports = (await load()) as Record<string, any>;
    for (const [name, fn] of Object.entries(exports)) {
      if (!fn || fn.isPublic !== true || typeof fn.exportArgs !== "function") continue;
      const kind = fn.isQuery ? "query" : fn.isMutation ? "mutation" : fn.isAction ? "action" : null;
      if (!kind) continue;
      const args = JSON.parse(fn.exportArgs()) as VJson;
      if (args.type !== "object") continue;
      const arrays: [VJson, string][] = [];
      idArrays(args, "", arrays);
      for (const [at, argPath] of arrays) {
        found.push({
          fn: `${mod}:${name}`,
          kind,
          access: accessOf(fn) ?? "?",
          argPath,
          build: (n) => objectOf(args.value, at, n),
        });
      }
    }
  }
  return found;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e: any) {
    const data = typeof e?.data === "string" ? JSON.parse(e.data) : e?.data;
    return data?.code ?? `message:${String(e?.message).slice(0, 80)}`;
  }
}

describe(`at most ${MAX_IDS_PER_ARG} ids in any array argument of any public function`, () => {
  test("every array-of-ids argument refuses 51 ids with TOO_MANY_IDS (and 50 are not refused for that)", async () => {
    const list = await targets();
    // The walk must find real arguments, or it proves nothing.
    expect(list.length).toBeGreaterThan(0);
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    const s = await t.mutation(internal.chat.sessions.startFromHttp, { ip: "192.0.2.1" });
    if (!s.ok) throw new Error("no session");
    const failures: string[] = [];
    for (const target of list) {
      const ref = makeFunctionReference<any>(target.fn) as any;
      const call = (n: number) => {
        const args = target.build(n);
        if (target.access === "session") args.sessionToken = s.token;
        const who = target.access === "session" || target.access === "none" ? t : owner.as;
        return target.kind === "query"
          ? who.query(ref, args)
          : target.kind === "mutation"
            ? who.mutation(ref, args)
            : who.action(ref, args);
      };
      const over = await codeOf(call(MAX_IDS_PER_ARG + 1));
      const at = await codeOf(call(MAX_IDS_PER_ARG));
      if (over !== "TOO_MANY_IDS" || at === "TOO_MANY_IDS")
        failures.push(`${target.fn} ${target.argPath}: 51 → ${over}, 50 → ${at}`);
    }
    expect(failures).toEqual([]);
    console.log(`checked ${list.length} array-of-ids arguments: ${list.map((x) => x.fn + x.argPath).join(", ")}`);
  });
});
