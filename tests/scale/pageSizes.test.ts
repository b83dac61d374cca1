// @vitest-environment node
// Every paginated public function, found from the module map (any public function whose args take
// `paginationOpts`), is asked for 100,000 rows over a table holding more than a page: it must return
// at most the clamp. Log audiences (logs/browse) are checked here too.
import { describe, expect, test } from "vitest";
import { makeFunctionReference } from "convex/server";
import { api } from "../../convex/_generated/api";
import { modules } from "../../convex/test.setup";
import { accessOf } from "../../convex/access/classes";
import { PAGE_MAX, PUBLIC_PAGE_MAX, clampPage } from "../../convex/lib/pagination";
import { sha256Hex } from "../../convex/lib/tokens";
import { DEFAULT_WORKSPACE_SLUG } from "../../convex/workspaces/lib";
import type { Id } from "../../convex/_generated/dataModel";
import { expectCode, member, newT, type T } from "../harness";

const ROWS = PAGE_MAX + 20;
const HUGE = 100_000;

/** `module:export` of every public function whose args validator has `paginationOpts`. */
async function paginatedFunctions(): Promise<
  Map<string, { kind: "query" | "mutation" | "action"; access: string | undefined }>
> {
  const out = new Map<string, { kind: "query" | "mutation" | "action"; access: string | undefined }>();
  for (const [file, load] of Object.entries(modules)) {
    // Convex never registers functions from _generated/, schema.ts or names with more than one dot.
    if (file.includes("/_generated/") || file === "./schema.ts" || file.split("/").pop()!.split(".").length > 2)
      continue;
    const mod = (await load()) as Record<string, any>;
    const path = file.replace(/^\.\//, "").replace(/\.[jt]s$/, "");
    for (const [name, fn] of Object.entries(mod)) {
      if (!fn || typeof fn !== "function" || !fn.isPublic || typeof fn.exportArgs !== "function") continue;
      const args = JSON.parse(fn.exportArgs());
      if (args?.type !== "object" || !args.value?.paginationOpts) continue;
      out.set(`${path}:${name}`, {
        kind: fn.isQuery ? "query" : fn.isMutation ? "mutation" : "action",
        access: accessOf(fn),
      });
    }
  }
  return out;
}

async function seed(t: T) {
  const owner = await member(t, { role: "owner", workspace: DEFAULT_WORKSPACE_SLUG });
  const ws = owner.workspaceId;
  const sessionToken = "page-size-session-token-0123456789";
  const threadId = await t.run(async (ctx) => {
    const now = Date.now();
    const sessionId = await ctx.db.insert("chatSessions", {
      workspaceId: ws,
      tokenHash: await sha256Hex(sessionToken),
      createdAt: now,
      expiresAt: now + 3_600_000,
      lastSeenAt: now,
    });
    let first: Id<"threads"> | null = null;
    for (let i = 0; i < ROWS; i++) {
      const id = await ctx.db.insert("threads", {
        workspaceId: ws,
        sessionId,
        createdAt: now + i,
        updatedAt: now + i,
        messageCount: 0,
      });
      first ??= id;
      await ctx.db.insert("messages", {
        workspaceId: ws,
        threadId: first,
        role: "user",
        text: `m${i}`,
        status: "done",
        createdAt: now + i,
      });
      await ctx.db.insert("invocationLog", {
        workspaceId: ws,
        targetKind: "skill",
        targetName: "s",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 1,
        inputBytes: 1,
        outputBytes: 1,
        at: now + i,
      });
      await ctx.db.insert("securityEvents", {
        workspaceId: ws,
        code: "INPUT_INVALID",
        category: "skill",
        source: "ip:203.0.113.9",
        at: now + i,
      });
      await ctx.db.insert("auditLog", {
        workspaceId: ws,
        actorLabel: "o",
        action: "owner.signin",
        target: "ip:203.0.113.9",
        at: now + i,
      });
      await ctx.db.insert("activityLog", {
        workspaceId: ws,
        kind: "agent.reply",
        summary: "Answered a question",
        visibility: "public",
        at: now + i,
      });
      await ctx.db.insert("skillRegistry", {
        workspaceId: ws,
        name: `skill-${i}`,
        description: "d",
        type: "webhook",
        status: "approved",
        inputSchema: { type: "object" },
        config: { urlTemplate: "https://api.example.com/x", method: "GET" },
        configHash: "h",
        allowedDomains: ["api.example.com"],
        secretNames: [],
        timeoutMs: 5000,
        maxOutputBytes: 10000,
        createdAt: now,
        updatedAt: now,
      });
    }
    return first!;
  });
  return { owner, sessionToken, threadId };
}

describe("page sizes", () => {
  test("clampPage: 1..max for any input", () => {
    for (const [n, want] of [
      [HUGE, PAGE_MAX],
      [0, 1],
      [-5, 1],
      [2.7, 2],
      [NaN, 1],
      [Infinity, 1],
      [7, 7],
    ] as const) {
      expect(clampPage({ numItems: n, cursor: null }).numItems).toBe(want);
    }
    expect(clampPage({ numItems: HUGE, cursor: "c" }, PUBLIC_PAGE_MAX)).toEqual({
      numItems: PUBLIC_PAGE_MAX,
      cursor: "c",
    });
  });

  test("every paginated public function returns at most the clamp when asked for 100,000 rows", async () => {
    const found = await paginatedFunctions();
    const t = newT();
    const { owner, sessionToken, threadId } = await seed(t);
    const sessionId = (await t.run((ctx) => ctx.db.get(threadId)))!.sessionId!;
    // Arguments besides paginationOpts; functions not listed get none. Listed ones read seeded tables
    // that hold more than a page, so they must return exactly the clamp.
    const seeded: Record<string, Record<string, unknown>> = {
      "logs/browse:invocations": {},
      "logs/browse:securityEvents": {},
      "logs/browse:audit": {},
      "logs/browse:auditExport": { format: "csv" },
      "privacy/export:threads": { subject: { kind: "chatSession", id: sessionId } },
      "privacy/export:messages": { threadId },
      "skills/registry:list": {},
      "agent/activity:list": {},
      "agent/activity:publicFeed": {},
      "chat/owner:listThreads": {},
      "chat/owner:listMessages": { threadId },
      "chat/threads:listThreads": { sessionToken },
      "chat/threads:listMessages": { sessionToken, threadId },
    };
    for (const path of Object.keys(seeded)) expect(found.has(path), `${path} is paginated`).toBe(true);
    // Whatever a function reads, the page size it asks the database for is recorded here.
    const g = globalThis as any;
    const inner = g.Convex;
    let asked: number[] = [];
    g.Convex = {
      get syscall() {
        return inner.syscall;
      },
      get jsSyscall() {
        return inner.jsSyscall;
      },
      get asyncSyscall() {
        return async (op: string, json: string) => {
          if (op === "1.0/queryPage") asked.push(JSON.parse(json).pageSize);
          return await inner.asyncSyscall(op, json);
        };
      },
    };
    try {
      for (const [path, { kind, access }] of found) {
        expect(kind, path).toBe("query");
        asked = [];
        const args = { ...seeded[path], paginationOpts: { numItems: HUGE, cursor: null } };
        const caller = access === "none" || access === "session" ? t : owner.as;
        const res: any = await caller.query(makeFunctionReference<"query">(path), args);
        const max = access === "none" ? PUBLIC_PAGE_MAX : PAGE_MAX;
        expect(asked.length, `${path} paginates`).toBeGreaterThan(0);
        expect(Math.max(...asked), path).toBeLessThanOrEqual(max);
        expect(res.page.length, path).toBeLessThanOrEqual(max);
        if (path in seeded) {
          expect(res.page.length, path).toBe(max);
          expect(res.isDone, path).toBe(false);
        }
      }
    } finally {
      g.Convex = inner;
    }
  });
});

describe("log audiences", () => {
  test("viewers read invocations and security events (no source), not the audit log; admins read all three", async () => {
    const t = newT();
    const { owner } = await seed(t);
    const viewer = await member(t, { role: "viewer", workspace: DEFAULT_WORKSPACE_SLUG });
    const admin = await member(t, { role: "admin", workspace: DEFAULT_WORKSPACE_SLUG });
    const page = { paginationOpts: { numItems: 5, cursor: null } };
    expect((await viewer.as.query(api.logs.browse.invocations, page)).page).toHaveLength(5);
    const events = await viewer.as.query(api.logs.browse.securityEvents, page);
    expect(events.page).toHaveLength(5);
    expect(JSON.stringify(events)).not.toContain("203.0.113.9");
    await expectCode(viewer.as.query(api.logs.browse.audit, page), "FORBIDDEN");
    expect((await admin.as.query(api.logs.browse.audit, page)).page).toHaveLength(5);
    expect((await owner.as.query(api.logs.browse.audit, page)).page).toHaveLength(5);
  });
});
