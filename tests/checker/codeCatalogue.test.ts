/**
 * Code skills reach a real deployment's registry without anyone running `skills/codeSync:sync`:
 * the "code skill catalogue" cron compares the deployed catalogue with the last synced one and
 * registers new or changed modules as pending. Unchanged: two reads, no writes.
 */
import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import crons from "../../convex/crons";
import { CODE_SKILLS } from "../../convex/skills/code";
import type { CodeSkillModule } from "../../convex/skills/code/types";
import { admin, checkerT, invoke, type CT } from "./helpers";

const saved = { ...CODE_SKILLS };
afterEach(() => {
  for (const k of Object.keys(CODE_SKILLS)) delete CODE_SKILLS[k];
  Object.assign(CODE_SKILLS, saved);
});

async function row(t: CT, workspaceId: string, name: string) {
  return await t.run(async (ctx) =>
    ctx.db
      .query("skillRegistry")
      .withIndex("by_workspace_name", (q) => q.eq("workspaceId", workspaceId as never).eq("name", name))
      .first(),
  );
}

/** The cron's own call, measured. */
async function tick(t: CT) {
  return await t.run(async (ctx) => {
    const r = await ctx.runMutation(internal.skills.codeSync.check, {});
    return { ...r, metrics: await ctx.meta.getTransactionMetrics() };
  });
}

const shout: CodeSkillModule = {
  skillMeta: {
    name: "shout",
    description: "Upper-cases a text.",
    inputSchema: {
      type: "object",
      properties: { text: { type: "string", maxLength: 100 } },
      required: ["text"],
      additionalProperties: false,
    },
    permissions: { domains: [], secrets: [] },
    rateLimitPerMinute: 10,
    timeoutMs: 1000,
  },
  handler: (input: { text: string }) => ({ text: input.text.toUpperCase() }),
} as CodeSkillModule;

describe("code skills on a deployment (no manual sync)", () => {
  test("the catalogue check is a registered cron, every minute", () => {
    const job = (crons as unknown as { crons: Record<string, { name: string; schedule: unknown }> }).crons[
      "code skill catalogue"
    ];
    expect(job).toEqual(
      expect.objectContaining({ name: "skills/codeSync:check", schedule: { type: "interval", minutes: 1 } }),
    );
  });

  test("first tick after a deploy registers every module as pending; nothing runs until approved", async () => {
    const t = checkerT();
    const a = await admin(t);
    expect((await tick(t)).started).toBe(true);
    const wc = await row(t, a.workspaceId, "word_count");
    expect(wc).toMatchObject({ type: "code", status: "pending" });
    expect(await row(t, a.workspaceId, "github_repo_info")).toMatchObject({ status: "pending" });
    expect(await invoke(t, a, "word_count", { text: "a b" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
    await a.as.mutation(api.skills.registry.approve, { skillId: wc!._id });
    expect(await invoke(t, a, "word_count", { text: "a b" })).toMatchObject({ ok: true });
  });

  test("nothing deployed since the last sync: the tick reads two documents and writes none", async () => {
    const t = checkerT();
    await admin(t);
    await tick(t);
    const again = await tick(t);
    expect(again.started).toBe(false);
    expect(again.metrics.documentsWritten.used).toBe(0);
    expect(again.metrics.documentsRead.used).toBeLessThanOrEqual(2);
    expect(again.metrics.databaseQueries.used).toBeLessThanOrEqual(2);
  });

  test("a module added, changed or removed by a deploy: pending, back to pending, disabled", async () => {
    const t = checkerT();
    const a = await admin(t);
    await tick(t);
    const wc = await row(t, a.workspaceId, "word_count");
    await a.as.mutation(api.skills.registry.approve, { skillId: wc!._id });

    // deploy 1: a new module
    CODE_SKILLS.shout = shout;
    expect((await tick(t)).started).toBe(true);
    expect(await row(t, a.workspaceId, "shout")).toMatchObject({ type: "code", status: "pending" });
    expect(await invoke(t, a, "shout", { text: "hi" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });

    // deploy 2: word_count's handler changed; its approval no longer holds
    const original = CODE_SKILLS.word_count;
    CODE_SKILLS.word_count = {
      ...original,
      handler: (input: { text: string }) => ({ words: input.text.length }),
    } as CodeSkillModule;
    expect((await tick(t)).started).toBe(true);
    expect((await row(t, a.workspaceId, "word_count"))!.status).toBe("pending");
    expect(await invoke(t, a, "word_count", { text: "a b" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });

    // deploy 3: shout removed
    delete CODE_SKILLS.shout;
    expect((await tick(t)).started).toBe(true);
    expect((await row(t, a.workspaceId, "shout"))!.status).toBe("disabled");
    expect((await tick(t)).started).toBe(false);
  });

  test("a workspace created after the last sync gets the catalogue on the next tick", async () => {
    const t = checkerT();
    await admin(t, "ws-a");
    await tick(t);
    const b = await admin(t, "ws-b");
    expect(await row(t, b.workspaceId, "word_count")).toBeNull();
    expect((await tick(t)).started).toBe(true);
    expect(await row(t, b.workspaceId, "word_count")).toMatchObject({ status: "pending" });
  });

  test("a deployed handler that was never synced does not run, even with an old approval", async () => {
    const t = checkerT();
    const a = await admin(t);
    await tick(t);
    const wc = await row(t, a.workspaceId, "word_count");
    await a.as.mutation(api.skills.registry.approve, { skillId: wc!._id });
    CODE_SKILLS.word_count = { ...CODE_SKILLS.word_count, handler: () => ({ words: 999 }) } as CodeSkillModule;
    // before the cron ran: the registry names the old source, so the call is refused
    expect(await invoke(t, a, "word_count", { text: "a b" })).toEqual({ ok: false, code: "SKILL_NOT_APPROVED" });
  });
});
