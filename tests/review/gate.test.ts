/**
 * Issue 21 items 6 and 7 (server side): the two-person rule (the person who made a change cannot
 * approve it; owner-configurable; refusals audited and recorded as security events), what an
 * approval allows (review info, the code skill source stored at approval for the next diff), the
 * "test this skill" action (caller owner-test through the checker, no agency gate), the first-run
 * checklist and the public-URL reachability check.
 */
import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { member, expectCode } from "../harness";
import { checkerT, calculator, createSkill, type CT } from "../checker/helpers";
import { CODE_SKILLS } from "../../convex/skills/code";
import type { CodeSkillModule } from "../../convex/skills/code/types";
import { publicUrlProblem } from "../../convex/channels/platforms";

async function audits(t: CT, action: string) {
  return await t.run(async (ctx) => (await ctx.db.query("auditLog").take(500)).filter((r) => r.action === action));
}
async function events(t: CT, code: string) {
  return await t.run(async (ctx) => (await ctx.db.query("securityEvents").take(500)).filter((r) => r.code === code));
}
async function status(t: CT, id: string) {
  return await t.run(async (ctx) => ((await ctx.db.get(id as never)) as { status: string } | null)?.status);
}

const saved = { ...CODE_SKILLS };
afterEach(() => {
  for (const k of Object.keys(CODE_SKILLS)) delete CODE_SKILLS[k];
  Object.assign(CODE_SKILLS, saved);
});

describe("two-person rule", () => {
  test("off by default: the creator approves their own skill", async () => {
    const t = checkerT();
    const a = await member(t as never, { role: "owner" });
    const id = await createSkill(a as never, calculator("calc_off"));
    expect(await a.as.mutation(api.skills.registry.approve, { skillId: id })).toBeNull();
    expect(await status(t, id)).toBe("approved");
  });

  test("on: the server refuses the creator's and the last editor's approval, records it, and lets another admin approve", async () => {
    const t = checkerT();
    const owner = await member(t as never, { role: "owner", ownerKey: "olivia" });
    const adam = await member(t as never, { role: "admin", ownerKey: "adam" });
    // only an owner turns it on
    await expectCode(adam.as.mutation(api.workspaces.policy.setTwoPersonRule, { on: true }), "FORBIDDEN");
    await owner.as.mutation(api.workspaces.policy.setTwoPersonRule, { on: true });
    expect((await adam.as.query(api.workspaces.policy.get, {})).twoPersonRule).toBe(true);
    expect((await audits(t, "workspace.twoPersonRule")).at(-1)?.after).toMatchObject({ twoPersonRule: true });

    const id = await createSkill(adam as never, calculator("calc_two"));
    const info = await adam.as.query(api.skills.review.reviewInfo, { skillId: id });
    expect(info).toMatchObject({ twoPersonRule: true, lastEditor: "adam", selfApproval: true });
    expect(await adam.as.mutation(api.skills.registry.approve, { skillId: id })).toEqual({
      refused: "TWO_PERSON_RULE",
    });
    expect(await status(t, id)).toBe("pending");
    expect((await audits(t, "skill.approve.refused")).map((r) => r.target)).toEqual(["calc_two"]);
    expect(await events(t, "TWO_PERSON_RULE")).toHaveLength(1);

    // someone else may
    expect((await owner.as.query(api.skills.review.reviewInfo, { skillId: id })).selfApproval).toBe(false);
    expect(await owner.as.mutation(api.skills.registry.approve, { skillId: id })).toBeNull();
    expect(await status(t, id)).toBe("approved");

    // the owner widens it (back to pending): now the owner is the editor and adam approves
    await owner.as.mutation(api.skills.registry.update, { skillId: id, description: "A wider calculator." });
    expect(await status(t, id)).toBe("pending");
    expect(await owner.as.mutation(api.skills.registry.approve, { skillId: id })).toEqual({
      refused: "TWO_PERSON_RULE",
    });
    expect(await adam.as.mutation(api.skills.registry.approve, { skillId: id })).toBeNull();
    expect(await status(t, id)).toBe("approved");

    // off again: self-approval works
    await owner.as.mutation(api.workspaces.policy.setTwoPersonRule, { on: false });
    const id2 = await createSkill(adam as never, calculator("calc_three"));
    expect(await adam.as.mutation(api.skills.registry.approve, { skillId: id2 })).toBeNull();
  });

  test("on: whoever registered an MCP server cannot approve it", async () => {
    const t = checkerT();
    const owner = await member(t as never, { role: "owner" });
    const adam = await member(t as never, { role: "admin" });
    await owner.as.mutation(api.workspaces.policy.setTwoPersonRule, { on: true });
    const serverId = await adam.as.mutation(api.mcp.outbound.servers.register, {
      name: "weather",
      url: "https://mcp.example.com/mcp",
    });
    expect((await adam.as.query(api.mcp.outbound.review.approvalInfo, { serverId })).selfApproval).toBe(true);
    expect(await adam.as.mutation(api.mcp.outbound.servers.approve, { serverId })).toEqual({
      refused: "TWO_PERSON_RULE",
    });
    expect(await status(t, serverId)).toBe("pending");
    expect((await audits(t, "mcp.server.approve.refused")).length).toBe(1);
    expect(await owner.as.mutation(api.mcp.outbound.servers.approve, { serverId })).toBeNull();
    expect(await status(t, serverId)).toBe("approved");
  });

  test("a code skill changed by a deploy has no editor; approval stores its source and the next review shows both versions", async () => {
    const t = checkerT();
    const owner = await member(t as never, { role: "owner" });
    await owner.as.mutation(api.workspaces.policy.setTwoPersonRule, { on: true });
    const v1: CodeSkillModule = {
      skillMeta: {
        name: "shout",
        description: "Upper-cases a text.",
        inputSchema: {
          type: "object",
          properties: { text: { type: "string" } },
          required: ["text"],
          additionalProperties: false,
        },
        permissions: { domains: [], secrets: [] },
        rateLimitPerMinute: 10,
        timeoutMs: 1000,
      },
      handler: (i: { text: string }) => i.text.toUpperCase(),
    };
    for (const k of Object.keys(CODE_SKILLS)) delete CODE_SKILLS[k];
    CODE_SKILLS.shout = v1;
    await t.mutation(internal.skills.codeSync.sync, {});
    const id = await t.run(
      async (ctx) => (await ctx.db.query("skillRegistry").take(10)).find((s) => s.name === "shout")!._id,
    );
    const first = await owner.as.query(api.skills.review.reviewInfo, { skillId: id });
    expect(first.code).toMatchObject({ module: "shout", approvedSource: null, deployed: true });
    expect(first.code?.source).toContain("toUpperCase");
    expect(first.lastEditor).toBeNull();
    expect(await owner.as.mutation(api.skills.registry.approve, { skillId: id })).toBeNull();

    CODE_SKILLS.shout = { ...v1, handler: (i: { text: string }) => `${i.text.toUpperCase()}!` };
    await t.mutation(internal.skills.codeSync.sync, {});
    expect(await status(t, id)).toBe("pending");
    const second = await owner.as.query(api.skills.review.reviewInfo, { skillId: id });
    expect(second.code?.approvedSource).toContain("i.text.toUpperCase()");
    expect(second.code?.approvedSource).not.toContain("!`");
    expect(second.code?.source).toContain("!`");
  });
});

describe("test this skill", () => {
  test("runs through the checker as owner-test: logged with its own caller kind, no agency grant needed, viewers refused", async () => {
    const t = checkerT();
    const owner = await member(t as never, { role: "owner", ownerKey: "olivia" });
    const viewer = await member(t as never, { role: "viewer" });
    const id = await createSkill(owner as never, calculator("calc_test"));
    // not approved yet: the checker refuses and logs it
    const denied = await owner.as.action(api.skills.test.run, { skillId: id, input: { expression: "2+3" } });
    expect(denied).toMatchObject({ ok: false, code: "SKILL_NOT_APPROVED" });
    expect(denied.row).toMatchObject({ code: "SKILL_NOT_APPROVED", allowed: false });
    await owner.as.mutation(api.skills.registry.approve, { skillId: id });
    const r = await owner.as.action(api.skills.test.run, { skillId: id, input: { expression: "2+3" } });
    expect(r).toMatchObject({ ok: true, code: "OK" });
    expect(r.row?.outputPreview).toContain("5");
    const bad = await owner.as.action(api.skills.test.run, { skillId: id, input: { nope: 1 } });
    expect(bad).toMatchObject({ ok: false, code: "INPUT_INVALID" });
    const rows = await t.run(async (ctx) => await ctx.db.query("invocationLog").take(20));
    expect(new Set(rows.map((x) => x.callerKind))).toEqual(new Set(["owner-test"]));
    expect(rows.every((x) => x.callerId === owner.ownerId)).toBe(true);
    await expectCode(viewer.as.action(api.skills.test.run, { skillId: id, input: { expression: "1" } }), "FORBIDDEN");
  });
});

describe("first-run checklist", () => {
  test("computed from what exists", async () => {
    const t = checkerT();
    const owner = await member(t as never, { role: "owner" });
    const before = await owner.as.query(api.workspaces.checklist.firstRun, {});
    expect(before.done).toBe(false);
    expect(before.steps.filter((s) => s.done)).toEqual([]);
    const id = await createSkill(owner as never, calculator("calc_c"));
    await owner.as.mutation(api.skills.registry.approve, { skillId: id });
    await owner.as.mutation(api.agent.providers.create, { label: "Offline", kind: "offline" });
    const after = await owner.as.query(api.workspaces.checklist.firstRun, {});
    expect(
      after.steps
        .filter((s) => s.done)
        .map((s) => s.key)
        .sort(),
    ).toEqual(["provider", "skill"]);
  });
});

describe("public base URL reachability", () => {
  test.each([
    ["http://127.0.0.1:3210", "loopback"],
    ["https://localhost", "loopback"],
    ["https://warden.localhost", "loopback"],
    ["http://[::1]:8080", "loopback"],
    ["https://10.1.2.3", "private"],
    ["https://192.168.1.20:8443", "private"],
    ["https://[fd00::1]", "private"],
    ["https://warden.local", "local-name"],
    ["https://warden", "local-name"],
    ["http://warden.example.com", "not-https"],
    ["https://warden.example.com", null],
    ["https://203.0.113.9", "private"], // documentation range: not public
  ])("%s → %s", (url, want) => {
    expect(publicUrlProblem(url)).toBe(want);
  });
});
