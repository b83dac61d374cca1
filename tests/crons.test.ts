/**
 * Crons run on their own schedules and each touches only its own tables: every registered job is
 * listed here with its schedule and the tables it may write; each target is run to completion
 * (with everything it schedules) against a workspace that has rows in every table it could
 * plausibly reach, and the tables whose contents changed are compared with that list.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import crons from "../convex/crons";
import schema from "../convex/schema";
import { api, internal } from "../convex/_generated/api";
import { writeInvocationLog } from "../convex/security/checkerLog";
import { recordSecurityEvent } from "../convex/security/events";
import { writeAudit } from "../convex/audit/log";
import { DAY } from "../convex/lib/time";
import { member, newT, type T } from "./harness";

afterEach(() => vi.useRealTimers());

type Job = { fn: string; schedule: Record<string, unknown>; writes: string[] };

/** Every cron, its schedule, and the only tables it may change. */
const EXPECTED: Record<string, Job> = {
  "log retention": {
    fn: "logs/retention:start",
    schedule: { type: "daily", hourUTC: 3, minuteUTC: 17 },
    writes: ["invocationLog", "securityEvents", "activityLog", "auditLog", "webhookDeliveries"],
  },
  "mcp health": {
    fn: "mcp/outbound/health:checkAll",
    schedule: { type: "interval", minutes: 5 },
    writes: [
      "mcpServers",
      "mcpSessions",
      "mcpTools",
      "activityLog",
      "notifications",
      "oauthRequests",
      "oauthCodes",
      "oauthTokens",
    ],
  },
  "invocation summary rollup": {
    fn: "logs/summaries:rollupInvocations",
    schedule: { type: "interval", seconds: 30 },
    writes: ["invocationSummary", "invocationRollup"],
  },
  "summary reconcile": {
    fn: "logs/summaries:reconcilePreviousHour",
    schedule: { type: "hourly", minuteUTC: 7 },
    writes: ["invocationSummary", "securityEventSummary"],
  },
  "agent run sweep": {
    fn: "agent/runs:sweepRuns",
    schedule: { type: "interval", seconds: 15 },
    writes: ["messages", "channelOutbox", "activityLog", "notifications"],
  },
  "reply delivery sweep": {
    fn: "channels/delivery:sweepOutbox",
    schedule: { type: "interval", seconds: 15 },
    writes: ["channelOutbox", "messages", "channelConfig", "notifications"],
  },
  "tool approval expiry": {
    fn: "agency/approvals:expireDue",
    schedule: { type: "interval", minutes: 1 },
    writes: ["toolApprovals", "messages", "threads"],
  },
  "code skill catalogue": {
    fn: "skills/codeSync:check",
    schedule: { type: "interval", minutes: 1 },
    writes: ["codeCatalogueState", "skillRegistry", "auditLog", "securityEvents"],
  },
  "raw security event purge": {
    fn: "security/edge:purgeRawEvents",
    schedule: { type: "hourly", minuteUTC: 41 },
    writes: ["securityEventRaw"],
  },
};

const registered = (
  crons as unknown as { crons: Record<string, { name: string; args: unknown[]; schedule: Record<string, unknown> }> }
).crons;

/** A workspace with old and new rows in the log, summary, chat, skill, limit and approval tables. */
async function seed(t: T) {
  const now = Date.now();
  const a = await member(t, { workspace: "default" });
  const old = now - 90 * DAY;
  await a.as.mutation(api.limits.manage.set, { name: "chatPerSession", rate: 5, periodMs: 60_000 });
  await t.mutation(internal.skills.codeSync.sync, {});
  await t.run(async (ctx) => {
    const w = a.workspaceId;
    for (const at of [old, now - 2 * 3600_000, now - 60_000]) {
      vi.setSystemTime(at);
      await writeInvocationLog(ctx, {
        workspaceId: w,
        targetKind: "skill",
        targetName: "s",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 1,
        inputBytes: 1,
        outputBytes: 1,
      });
      await recordSecurityEvent(ctx, { workspaceId: w, code: "INPUT_INVALID", category: "skill" });
      await writeAudit(ctx, { workspaceId: w, actorLabel: "test", action: "test.seed", target: "x" });
      await ctx.db.insert("activityLog", {
        workspaceId: w,
        kind: "test.seed",
        summary: "seed",
        visibility: "private",
        at,
      });
    }
    vi.setSystemTime(now);
    const sessionId = await ctx.db.insert("chatSessions", {
      workspaceId: w,
      tokenHash: "h".repeat(64),
      createdAt: now,
      expiresAt: now + DAY,
      lastSeenAt: now,
    });
    const threadId = await ctx.db.insert("threads", { workspaceId: w, sessionId, createdAt: now, updatedAt: now });
    await ctx.db.insert("messages", {
      workspaceId: w,
      threadId,
      role: "user",
      text: "hi",
      status: "done",
      createdAt: now,
    });
    // an answer stuck past its deadline, and a channel reply whose send crashed long ago (the sweepers)
    await ctx.db.insert("messages", {
      workspaceId: w,
      threadId,
      role: "assistant",
      text: "",
      status: "pending",
      createdAt: now - 60_000,
      leaseUntil: now - 1,
      deadlineAt: now - 1,
    });
    const channelId = await ctx.db.insert("channelConfig", {
      workspaceId: w,
      platform: "telegram",
      name: "tg",
      enabled: true,
      settings: {},
      createdAt: now,
      updatedAt: now,
    });
    const channelUserId = await ctx.db.insert("channelUsers", {
      workspaceId: w,
      channelId,
      platform: "telegram",
      platformUserId: "1",
      blocked: false,
      firstSeenAt: now,
      lastSeenAt: now,
    });
    await ctx.db.insert("channelOutbox", {
      workspaceId: w,
      channelUserId,
      text: "late",
      createdAt: now - 60_000,
      state: "sending",
      attempts: 1,
      leaseUntil: now - 1,
      deadlineAt: now - 1,
    });
    await ctx.db.insert("toolApprovals", {
      workspaceId: w,
      threadId,
      toolRef: "skill:calc",
      toolLabel: "calc",
      targetKind: "skill",
      skillName: "calc",
      inputJson: "{}",
      inputPreview: "{}",
      audience: "webVisitor",
      reason: "grant_ask",
      status: "pending",
      createdAt: old,
      expiresAt: old + 60_000,
    } as never);
  });
  return a;
}

/** Every document of every app table, by table. */
type Snap = Record<string, Record<string, string>>;
async function snapshot(t: T): Promise<Snap> {
  return await t.run(async (ctx) => {
    const out: Snap = {};
    for (const table of Object.keys(schema.tables)) {
      const docs = await ctx.db.query(table as never).take(10_000);
      out[table] = Object.fromEntries(docs.map((d: { _id: string }) => [d._id, JSON.stringify(d)]));
    }
    return out;
  });
}

function changedTables(before: Snap, after: Snap): string[] {
  const changed: string[] = [];
  for (const table of Object.keys(after)) {
    const b = before[table];
    const a = after[table];
    const ids = new Set([...Object.keys(a), ...Object.keys(b)]);
    if ([...ids].some((id) => a[id] !== b[id])) changed.push(table);
  }
  return changed.sort();
}

async function runJob(t: T, name: string) {
  const job = registered[name];
  const [mod, fn] = job.name.split(":");
  const ref = mod.split("/").reduce((o: any, part) => o[part], internal as any)[fn];
  if (name === "mcp health") await t.action(ref, job.args[0] as never);
  else await t.mutation(ref, job.args[0] as never);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

describe("crons", () => {
  test("every cron is registered with its own schedule and target; nothing unlisted runs", () => {
    for (const [name, job] of Object.entries(registered)) {
      expect(EXPECTED[name], `cron "${name}" is not listed in tests/crons.test.ts`).toBeDefined();
      expect({ fn: job.name, schedule: job.schedule }).toEqual({
        fn: EXPECTED[name].fn,
        schedule: EXPECTED[name].schedule,
      });
    }
    for (const name of [
      "log retention",
      "mcp health",
      "invocation summary rollup",
      "summary reconcile",
      "tool approval expiry",
      "code skill catalogue",
      "agent run sweep",
      "reply delivery sweep",
    ]) {
      expect(registered[name], name).toBeDefined();
    }
    // Jobs at fixed times never share a minute.
    const minutes = Object.values(registered)
      .map((j) => j.schedule.minuteUTC)
      .filter((m) => m !== undefined);
    expect(new Set(minutes).size).toBe(minutes.length);
  });

  for (const name of Object.keys(EXPECTED)) {
    test(`"${name}" writes only its own tables`, async () => {
      if (!registered[name]) return; // listed for a branch that has it; the test above fails on the reverse
      vi.useFakeTimers();
      vi.setSystemTime(new Date("2026-11-23T10:20:00Z"));
      const t = newT();
      await seed(t);
      vi.setSystemTime(Date.now() + 3600_000); // past the rollup lag; the seed's last hour is now closed
      // a drifted summary for reconciliation to repair
      await t.run(async (ctx) => {
        for (const r of await ctx.db.query("securityEventSummary").take(100)) await ctx.db.patch(r._id, { count: 999 });
      });
      const before = await snapshot(t);
      await runJob(t, name);
      const changed = changedTables(before, await snapshot(t));
      for (const table of changed) expect(EXPECTED[name].writes, `"${name}" wrote ${table}`).toContain(table);
      // the seed gives each job something to do, so the comparison is not vacuous
      if (!["mcp health", "raw security event purge", "code skill catalogue"].includes(name))
        expect(changed.length).toBeGreaterThan(0);
    }, 60_000);
  }

  test("the code-skill catalogue job touches nothing when nothing was deployed", async () => {
    const t = newT();
    await member(t);
    await t.mutation(internal.skills.codeSync.check, {});
    const before = await snapshot(t);
    await t.mutation(internal.skills.codeSync.check, {});
    expect(changedTables(before, await snapshot(t))).toEqual([]);
  });
});
