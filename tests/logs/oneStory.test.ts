// Issue 21 item 4: one story across logs. A public visitor's agent makes a mix of tool calls —
// allowed, denied by the checker (INPUT_INVALID), denied by the agency boundary (TOOL_NOT_OFFERED),
// naming a tool that is not enabled (TOOL_NOT_ENABLED), rate limited — and every view an owner
// reads tells the same story: each call is one invocation row, each denial that is a security
// event is one event with the same code, the activity feed has one tool-call entry per call, and
// the overview totals (24 h dashboard and the range overview) match the lists.
import { describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { publicChat, session, thread, waitForReply } from "../chat/setup";

const all = { numItems: 100, cursor: null };

describe("one story across logs", () => {
  test("invocation log, security events, activity and overview counts reconcile", async () => {
    const { t, owner } = await publicChat();
    const as = owner.as;
    const mk = async (name: string) => {
      const id = await as.mutation(api.skills.registry.create, {
        name,
        description: `${name} skill`,
        type: "template",
        config: { template: "calculator" },
        allowedDomains: [],
      });
      await as.mutation(api.skills.registry.approve, { skillId: id });
      return id;
    };
    const calc = await mk("calc");
    const locked = await mk("locked_calc");
    await as.mutation(api.agent.config.update, { enabledSkillIds: [calc, locked] });
    await as.mutation(api.agency.grants.set, { toolRef: "skill:calc", audience: "webVisitor", policy: "allow" });
    // locked_calc keeps the default for anonymous visitors: deny (not offered)
    await as.mutation(api.limits.manage.set, { name: "skillPerSkill", rate: 3, periodMs: 60_000 });

    const s = await session(t);
    const th = await thread(t, s);
    const say = async (text: string) => {
      const r = await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text });
      expect(r.ok).toBe(true);
      return await waitForReply(t, s, th);
    };
    const calls: [string, string][] = [
      ['/skill calc {"expression":"1+1"}', "OK"],
      ['/skill calc {"expression":"2*3"}', "OK"],
      ['/skill calc {"nope":true}', "INPUT_INVALID"],
      ['/skill calc {"expression":"4-1"}', "OK"],
      ['/skill calc {"expression":"5"}', "RATE_LIMITED"],
      ['/skill locked_calc {"expression":"1"}', "TOOL_NOT_OFFERED"],
      ['/skill ghost_tool {"x":1}', "TOOL_NOT_ENABLED"],
    ];
    for (const [text] of calls) expect((await say(text)).status).toBe("done");

    // invocation log: one row per call, newest first, with the code the visitor's agent got
    const inv = (await as.query(api.logs.explore.invocations, { paginationOpts: all })).page;
    expect(inv.map((r) => r.code).reverse()).toEqual(calls.map(([, c]) => c));
    expect(inv.every((r) => r.callerKind === "agent")).toBe(true);
    const denied = inv.filter((r) => !r.allowed);
    expect((await as.query(api.logs.explore.invocations, { paginationOpts: all, deniedOnly: true })).page).toHaveLength(
      denied.length,
    );

    // security events: every denial is one event with its code (the limiter's own event for RATE_LIMITED)
    const sec = (await as.query(api.logs.explore.securityEvents, { paginationOpts: all })).page;
    expect(sec.map((e) => e.code).sort()).toEqual(denied.map((r) => r.code).sort());
    expect(sec.find((e) => e.code === "RATE_LIMITED")?.detail).toBe("limit=skillPerSkill");
    // the agency denials name this conversation as their source, linking to its other events
    for (const code of ["TOOL_NOT_OFFERED", "TOOL_NOT_ENABLED", "INPUT_INVALID"]) {
      const e = sec.find((x) => x.code === code)!;
      expect(e.source).toMatchObject({
        kind: "conversation",
        objectLink: `/conversations/${th}`,
        link: `/logs/security?source=${encodeURIComponent(`agent:${th}`)}`,
      });
    }

    // activity: one tool-call entry per call
    const act = (await as.query(api.logs.explore.activity, { paginationOpts: all, kind: "agent.tool_call" })).page;
    expect(act).toHaveLength(calls.length);

    // overview (24 h dashboard) and the range overview agree with the lists
    const expected = {
      invocations: inv.length,
      denied: denied.length,
      securityEvents: sec.length,
      rateLimitHits: calls.filter(([, c]) => c === "RATE_LIMITED").length,
    };
    const dash = await as.query(api.logs.dashboard.overview, {});
    expect(dash.totals).toEqual(expected);
    const byCode: Record<string, number> = {};
    for (const e of sec) byCode[e.code] = (byCode[e.code] ?? 0) + 1;
    expect(dash.securityByCode).toEqual(byCode);
    expect(dash.rateLimitsByName).toEqual({ skillPerSkill: 1 });
    const range = await as.query(api.logs.explore.overviewRange, { from: Date.now() - 3_600_000 });
    expect(range.totals).toEqual(expected);
    expect(range.securityByCode).toEqual(byCode);
  });
});
