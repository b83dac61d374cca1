// @vitest-environment node
/**
 * Issue 18: the agent acts for strangers only with the authority the owner granted them.
 * Driven through the real paths: /chat (anonymous session) and signed Telegram webhooks, with the
 * offline model — which obeys any `/skill` line, i.e. a fully injected model.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { expectCode, member, newT, type T } from "../harness";
import { session, thread, waitForReply } from "../chat/setup";
import { MockVendor, drain, post, setupChannel, signTelegram, telegramUpdate } from "../channels/helpers";
import { APPROVAL_PENDING_TEXT } from "../../convex/agent/model";
import { DENIED_TEXT, EXPIRED_TEXT } from "../../convex/agency/approvals";
import { approvalNotice } from "../../convex/agency/gate";
import { PAIR_FIRST_TEXT, PAIR_FAILED_TEXT, PAIR_LOCKED_TEXT, PAIRED_TEXT } from "../../convex/agency/pairing";
import { storedTool } from "../../convex/mcp/protocol";
import {
  APPROVAL_TTL_MS,
  canonicalJson,
  decide,
  parsePairCommand,
  newPairingCode,
  PAIRING_ALPHABET,
} from "../../convex/lib/agency";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => {
  mock.reset();
  vi.useRealTimers();
});

type Owner = Awaited<ReturnType<typeof member>>;

async function calculatorSkill(t: T, owner: Owner, name = "calculator") {
  const id = await owner.as.mutation(api.skills.registry.create, {
    name,
    description: "adds numbers",
    type: "template",
    config: { template: "calculator" },
    allowedDomains: [],
  } as any);
  await owner.as.mutation(api.skills.registry.approve, { skillId: id });
  const cfg = await owner.as.query(api.agent.config.get, {});
  await owner.as.mutation(api.agent.config.update, { enabledSkillIds: [...cfg.enabledSkillIds, id] });
  return id;
}

async function log(t: T) {
  return await t.run((ctx) => ctx.db.query("invocationLog").collect());
}
async function events(t: T) {
  return await t.run((ctx) => ctx.db.query("securityEvents").collect());
}
const CALC = '/skill calculator {"expression":"(2+3)*7/2"}';

async function webSay(t: T, text: string) {
  const s = await session(t);
  const th = await thread(t, s);
  await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text });
  return await waitForReply(t, s, th);
}

let n = 1000;
async function tg(t: T, path: string, text: string, chatId = 4242) {
  const res = await post(t, path, signTelegram(telegramUpdate(++n, chatId, text)));
  expect(res.status).toBe(200);
  await drain(t);
}
const sent = () => mock.requests.map((r) => JSON.parse(r.body).text as string);

describe("defaults: no public audience can make a tool run", () => {
  test("a web visitor typing /skill gets no tool run; it is logged as TOOL_NOT_OFFERED and a security event", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    await calculatorSkill(t, owner);
    const reply = await webSay(t, CALC);
    expect(reply.text).toContain("That tool isn't available in this conversation."); // the code is in the log, not the reply
    expect(reply.text).not.toContain("TOOL_NOT_OFFERED");
    expect(reply.text).not.toContain("17.5");
    const rows = await log(t);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ code: "TOOL_NOT_OFFERED", allowed: false, callerKind: "agent" });
    expect((await events(t)).map((e) => e.code)).toContain("TOOL_NOT_OFFERED");
  });

  test("an unknown Telegram sender: same", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await calculatorSkill(t, ch);
    await tg(t, ch.path, CALC);
    expect(sent()[0]).toContain("That tool isn't available in this conversation.");
    expect((await log(t)).filter((r) => r.targetKind === "skill").map((r) => r.code)).toEqual(["TOOL_NOT_OFFERED"]);
  });

  test("the checker enforces the grant again at call time (a caller that skipped the offer is refused)", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    await calculatorSkill(t, owner);
    const input = { expression: "1+1" };
    for (const audience of ["webVisitor", "unknownSender", undefined, "somethingElse"]) {
      const r = await t.action(internal.security.checker.invokeSkill, {
        workspaceId: owner.workspaceId,
        skillName: "calculator",
        input,
        caller: { kind: "agent", id: "x", audience, tainted: false },
      });
      expect(r).toEqual({ ok: false, code: "TOOL_NOT_GRANTED" });
    }
    expect((await events(t)).filter((e) => e.code === "TOOL_NOT_GRANTED")).toHaveLength(4);
  });
});

describe("owner grants", () => {
  test("an owner grant makes it run for that audience only; changing a grant is owner-only and audited", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    const admin = await member(t, { workspace: "default", role: "admin" });
    await calculatorSkill(t, owner);
    await expectCode(
      admin.as.mutation(api.agency.grants.set, {
        toolRef: "skill:calculator",
        audience: "webVisitor",
        policy: "allow",
      }),
      "FORBIDDEN",
    );
    await expectCode(
      owner.as.mutation(api.agency.grants.set, { toolRef: "skill:nope", audience: "webVisitor", policy: "allow" }),
      "NOT_FOUND",
    );
    await owner.as.mutation(api.agency.grants.set, {
      toolRef: "skill:calculator",
      audience: "webVisitor",
      policy: "allow",
    });
    const reply = await webSay(t, CALC);
    expect(reply.text).toContain("17.5");
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.find((a) => a.action === "toolGrant.set")).toMatchObject({ target: "skill:calculator" });
    // the matrix shows it; viewers may read it
    const viewer = await member(t, { workspace: "default", role: "viewer" });
    const m = await viewer.as.query(api.agency.grants.list, {});
    expect(m.tools.find((x) => x.toolRef === "skill:calculator")).toMatchObject({
      policies: { webVisitor: "allow", unknownSender: "deny", pairedSender: "ask", ownerSender: "allow" },
      riskClass: "local",
    });
  });

  test("another workspace's grant does not apply here", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    const other = await member(t, { workspace: "other", role: "owner" });
    await calculatorSkill(t, owner);
    await calculatorSkill(t, other);
    await other.as.mutation(api.agency.grants.set, {
      toolRef: "skill:calculator",
      audience: "webVisitor",
      policy: "allow",
    });
    expect((await webSay(t, CALC)).text).toContain("That tool isn't available in this conversation.");
  });
});

describe("pairing and sender policy", () => {
  test("pairing-required channel: unknown senders are asked to pair and never reach the agent; a code pairs once", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await ch.as.mutation(api.agency.pairing.setSenderPolicy, { channelId: ch.channelId, policy: "pairing" });
    await tg(t, ch.path, "hello");
    expect(sent()).toEqual([PAIR_FIRST_TEXT]);
    expect(await t.run((ctx) => ctx.db.query("messages").collect())).toHaveLength(0);

    const { code } = await ch.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "paired" });
    await tg(t, ch.path, `/pair ${code.toLowerCase()}`);
    expect(sent()[1]).toBe(PAIRED_TEXT);
    const user = (await t.run((ctx) => ctx.db.query("channelUsers").collect()))[0];
    expect(user.trust).toBe("paired");
    // the code is single-use: another sender cannot reuse it
    await tg(t, ch.path, `/pair ${code}`, 5151);
    expect(sent()[2]).toBe(PAIR_FAILED_TEXT);
    // the paired sender now talks to the agent
    await tg(t, ch.path, "hello again");
    expect(sent()[3]).toMatch(/Offline model/);
    // nothing of the pairing exchange reached the agent's thread
    expect(JSON.stringify(await t.run((ctx) => ctx.db.query("messages").collect()))).not.toContain(code);
  });

  test("allowlist channel: unknown senders are ignored silently", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await ch.as.mutation(api.agency.pairing.setSenderPolicy, { channelId: ch.channelId, policy: "allowlist" });
    await tg(t, ch.path, "hello");
    expect(mock.requests).toHaveLength(0);
  });

  test("wrong codes lock pairing after 5 attempts; codes are bound to their channel and expire", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    const other = await ch.as.mutation(api.channels.manage.create, {
      platform: "telegram",
      name: "second",
      settings: { botUsername: "warden_second_bot" },
    });
    const { code: foreign } = await ch.as.mutation(api.agency.pairing.createCode, {
      channelId: other,
      trust: "paired",
    });
    await tg(t, ch.path, `/pair ${foreign}`);
    expect(sent()[0]).toBe(PAIR_FAILED_TEXT);
    for (let i = 0; i < 4; i++) await tg(t, ch.path, "/pair AAAAAAAAAA");
    expect(sent().at(-1)).toBe(PAIR_LOCKED_TEXT);
    const { code } = await ch.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "paired" });
    await tg(t, ch.path, `/pair ${code}`);
    expect(sent().at(-1)).toBe(PAIR_LOCKED_TEXT); // even a valid code, once locked
    expect((await events(t)).filter((e) => e.code === "PAIRING_INVALID")).toHaveLength(5);
    // an owner can reset it from SyncBoard
    const user = (await t.run((ctx) => ctx.db.query("channelUsers").collect()))[0];
    await ch.as.mutation(api.agency.pairing.setTrust, { channelUserId: user._id, trust: "paired" });
    expect((await t.run((ctx) => ctx.db.get(user._id)))?.trust).toBe("paired");
  });

  test("only owners create owner-link codes; an admin cannot make a stranger an owner", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    const admin = await member(t, { workspace: "ws-a", role: "admin" });
    await expectCode(
      admin.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "owner" }),
      "FORBIDDEN",
    );
    await tg(t, ch.path, "hello");
    const user = (await t.run((ctx) => ctx.db.query("channelUsers").collect()))[0];
    await expectCode(
      admin.as.mutation(api.agency.pairing.setTrust, { channelUserId: user._id, trust: "paired" }),
      "FORBIDDEN",
    );
    const stranger = await member(t, { workspace: "ws-b", role: "owner" });
    await expectCode(
      stranger.as.mutation(api.agency.pairing.setTrust, { channelUserId: user._id, trust: "paired" }),
      "FORBIDDEN",
    );
    expect((await t.run((ctx) => ctx.db.get(user._id)))?.trust).toBeUndefined();
  });
});

describe("ask: the approval queue", () => {
  async function pairedSetup() {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await calculatorSkill(t, ch);
    const { code } = await ch.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "paired" });
    await tg(t, ch.path, `/pair ${code}`);
    mock.reset();
    return { t, ch };
  }

  test("a paired sender's call waits for an owner; approval runs exactly that call and the sender gets the answer", async () => {
    const { t, ch } = await pairedSetup();
    await tg(t, ch.path, CALC);
    expect(sent()).toEqual([APPROVAL_PENDING_TEXT]);
    const pending = await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } });
    expect(pending.page).toHaveLength(1);
    expect(pending.page[0]).toMatchObject({
      toolLabel: "calculator",
      audience: "pairedSender",
      reason: "grant_ask",
      status: "pending",
    });
    expect((await log(t)).find((r) => r.targetKind === "skill")).toMatchObject({
      code: "APPROVAL_REQUIRED",
      allowed: false,
    });
    // asking again while pending does not queue a second copy
    await tg(t, ch.path, CALC);
    expect(
      (await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } })).page,
    ).toHaveLength(1);
    const notes = await t.run((ctx) => ctx.db.query("notifications").collect());
    expect(notes.map((x) => x.kind)).toContain("tool_approval");

    // admins see the inbox, only owners decide
    const admin = await member(t, { workspace: "ws-a", role: "admin" });
    await expectCode(
      admin.as.mutation(api.agency.approvals.decide, { approvalId: pending.page[0]._id, approve: true }),
      "FORBIDDEN",
    );
    mock.reset();
    await ch.as.mutation(api.agency.approvals.decide, { approvalId: pending.page[0]._id, approve: true });
    await drain(t);
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toContain("17.5");
    expect((await log(t)).filter((r) => r.code === "OK" && r.targetKind === "skill")).toHaveLength(1);
    // decided once
    await expectCode(
      ch.as.mutation(api.agency.approvals.decide, { approvalId: pending.page[0]._id, approve: false }),
      "APPROVAL_DECIDED",
    );
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((a) => a.action)).toContain("toolApproval.approve");
  });

  test("one requester cannot flood the inbox: at most 5 open approvals per conversation (logged, a security event)", async () => {
    const { t, ch } = await pairedSetup();
    for (let i = 1; i <= 7; i++) await tg(t, ch.path, `/skill calculator {"expression":"${i}+1"}`);
    const open = await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 50, cursor: null } });
    expect(open.page).toHaveLength(5);
    expect((await log(t)).filter((r) => r.code === "APPROVAL_QUEUE_FULL")).toHaveLength(2);
    expect((await events(t)).filter((e) => e.code === "APPROVAL_QUEUE_FULL")).toHaveLength(2);
  });

  test("an owner's linked channel identity hears about a new approval (tool name only, no input)", async () => {
    const { t, ch } = await pairedSetup();
    // the owner links their own Telegram identity (another chat id)
    const { code } = await ch.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "owner" });
    await tg(t, ch.path, `/pair ${code}`, 9001);
    mock.reset();
    await tg(t, ch.path, CALC);
    const byChat = mock.requests.map((r) => JSON.parse(r.body) as { chat_id: string; text: string });
    expect(byChat.find((m) => m.chat_id === "9001")?.text).toBe(approvalNotice("calculator"));
    expect(byChat.find((m) => m.chat_id === "4242")?.text).toBe(APPROVAL_PENDING_TEXT);
    expect(JSON.stringify(byChat.find((m) => m.chat_id === "9001"))).not.toContain("(2+3)*7/2");
  });

  test("denial gives a polite refusal; nothing runs", async () => {
    const { t, ch } = await pairedSetup();
    await tg(t, ch.path, CALC);
    const [p] = (await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } })).page;
    mock.reset();
    await ch.as.mutation(api.agency.approvals.decide, { approvalId: p._id, approve: false });
    await drain(t);
    expect(sent()).toEqual([DENIED_TEXT]);
    expect((await log(t)).some((r) => r.code === "OK" && r.targetKind === "skill")).toBe(false);
  });

  test("expiry gives a polite refusal; a late approval is refused", async () => {
    const { t, ch } = await pairedSetup();
    await tg(t, ch.path, CALC);
    const [p] = (await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } })).page;
    mock.reset();
    await t.run((ctx) => ctx.db.patch(p._id, { expiresAt: Date.now() - 1 }));
    await expectCode(
      ch.as.mutation(api.agency.approvals.decide, { approvalId: p._id, approve: true }),
      "APPROVAL_EXPIRED",
    );
    expect(await t.mutation(internal.agency.approvals.expireDue, {})).toEqual({ expired: 1 });
    expect(await t.mutation(internal.agency.approvals.expireDue, {})).toEqual({ expired: 0 });
    await drain(t);
    expect(sent()).toEqual([EXPIRED_TEXT]);
    expect(APPROVAL_TTL_MS).toBe(24 * 3600 * 1000);
  });

  test("an approval id runs only the approved call: other input, other tool, replay, another thread → APPROVAL_INVALID", async () => {
    const { t, ch } = await pairedSetup();
    await tg(t, ch.path, CALC);
    const [p] = (await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } })).page;
    const row = (await t.run((ctx) => ctx.db.get(p._id)))!;
    await t.run((ctx) => ctx.db.patch(p._id, { status: "approved" }));
    const base = { kind: "agent", id: row.threadId, audience: "pairedSender", tainted: true, approvalId: p._id };
    const call = (input: unknown, caller: Record<string, unknown> = base) =>
      t.action(internal.security.checker.invokeSkill, {
        workspaceId: ch.workspaceId,
        skillName: "calculator",
        input,
        caller: caller as never,
      });
    expect(await call({ expression: "666" })).toEqual({ ok: false, code: "APPROVAL_INVALID" });
    expect(await call(JSON.parse(row.inputJson), { ...base, id: "another-thread" })).toEqual({
      ok: false,
      code: "APPROVAL_INVALID",
    });
    expect((await call(JSON.parse(row.inputJson))).ok).toBe(true);
    expect(await call(JSON.parse(row.inputJson))).toEqual({ ok: false, code: "APPROVAL_INVALID" }); // used
  });
});

describe("the taint rule", () => {
  test("untrusted content in context (unknown sender) → a side-effect tool needs approval even with an allow grant", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await calculatorSkill(t, ch);
    await ch.as.mutation(api.agency.grants.set, {
      toolRef: "skill:calculator",
      audience: "unknownSender",
      policy: "allow",
    });
    // allowed and local: it runs
    await tg(t, ch.path, CALC);
    expect(sent()[0]).toContain("17.5");
    // the owner classifies it as a side effect: the same request now waits for approval
    await ch.as.mutation(api.agency.grants.set, { toolRef: "skill:calculator", riskClass: "sideEffect" });
    await tg(t, ch.path, CALC);
    expect(sent()[1]).toBe(APPROVAL_PENDING_TEXT);
    const [p] = (await ch.as.query(api.agency.approvals.list, { paginationOpts: { numItems: 10, cursor: null } })).page;
    expect(p.reason).toBe("tainted_side_effect");
  });

  test("an owner's own identity (linked by their code) runs side-effect tools without approval", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await calculatorSkill(t, ch);
    await ch.as.mutation(api.agency.grants.set, { toolRef: "skill:calculator", riskClass: "sideEffect" });
    const { code } = await ch.as.mutation(api.agency.pairing.createCode, { channelId: ch.channelId, trust: "owner" });
    await tg(t, ch.path, `/pair ${code}`);
    await tg(t, ch.path, CALC);
    expect(sent()[1]).toContain("17.5");
    const user = (await t.run((ctx) => ctx.db.query("channelUsers").collect()))[0];
    expect(user).toMatchObject({ trust: "owner", linkedOwnerId: ch.ownerId });
  });
});

describe("MCP annotations suggest, never decide", () => {
  test("a server's readOnly/openWorld hints are stored as a suggestion; the class stays side effect until an owner confirms", async () => {
    const t = newT();
    const owner = await member(t, { workspace: "default", role: "owner" });
    const serverId = await t.run((ctx) =>
      ctx.db.insert("mcpServers", {
        workspaceId: owner.workspaceId,
        name: "docs",
        url: "https://mcp.example.com/mcp",
        status: "approved",
        enabled: true,
        timeoutMs: 5000,
        maxOutputBytes: 10000,
        healthStatus: "unknown",
        consecutiveFailures: 0,
        createdAt: 0,
        updatedAt: 0,
      }),
    );
    const tool = (name: string, hints?: Record<string, boolean>) => ({
      name,
      description: name,
      inputSchema: { type: "object" },
      hash: `h-${name}`,
      ...(hints ? { hints } : {}),
    });
    await t.mutation(internal.mcp.outbound.servers.storeTools, {
      serverId,
      url: "https://mcp.example.com/mcp",
      tools: [
        tool("search", { readOnly: true, openWorld: true }),
        tool("lookup", { readOnly: true, openWorld: false }),
        tool("send", { destructive: true }),
        tool("plain"),
      ],
      skipped: 0,
    });
    // the owner approves the listing (the matrix shows approved tools)
    await t.run(async (ctx) => {
      for (const row of await ctx.db.query("mcpTools").collect())
        await ctx.db.patch(row._id, { status: "approved", approvedHash: row.hash });
    });
    const rows = (await owner.as.query(api.agency.grants.list, {})).tools.filter((x) => x.kind === "mcp");
    const by = Object.fromEntries(rows.map((r) => [r.label, r]));
    expect(by["docs/search"]).toMatchObject({
      suggestedRisk: "openWorld",
      riskClass: "sideEffect",
      riskConfirmed: false,
    });
    expect(by["docs/lookup"]).toMatchObject({ suggestedRisk: "local", riskClass: "sideEffect" });
    expect(by["docs/send"]).toMatchObject({ suggestedRisk: "sideEffect" });
    expect(by["docs/plain"]).toMatchObject({ suggestedRisk: "sideEffect" });
    await owner.as.mutation(api.agency.grants.set, { toolRef: by["docs/lookup"].toolRef, riskClass: "local" });
    const after = (await owner.as.query(api.agency.grants.list, {})).tools.find((x) => x.label === "docs/lookup");
    expect(after).toMatchObject({ riskClass: "local", riskConfirmed: true });
  });
});

describe("pure rules", () => {
  test("decide: grant, then taint", () => {
    expect(decide("deny", "local", false)).toEqual({ run: false, ask: false });
    expect(decide("ask", "local", false)).toMatchObject({ ask: true, reason: "grant_ask" });
    expect(decide("allow", "sideEffect", true)).toMatchObject({ ask: true, reason: "tainted_side_effect" });
    expect(decide("allow", "openWorld", true)).toEqual({ run: true });
    expect(decide("allow", "sideEffect", false)).toEqual({ run: true });
  });
  test("listed MCP annotations become boolean hints only", async () => {
    const a = await storedTool(
      {
        name: "t",
        description: "d",
        inputSchema: { type: "object" },
        annotations: { readOnlyHint: true, openWorldHint: false, title: "T", destructiveHint: "yes" },
      },
      [],
    );
    expect(a?.hints).toEqual({ readOnly: true, openWorld: false });
    const b = await storedTool({ name: "t", description: "d", inputSchema: { type: "object" } }, []);
    expect(b?.hints).toBeUndefined();
    // hints are not part of the pin
    expect(a?.hash).toBe(b?.hash);
  });
  test("pairing codes and commands", () => {
    const code = newPairingCode((k) => crypto.getRandomValues(new Uint8Array(k)));
    expect(code).toMatch(new RegExp(`^[${PAIRING_ALPHABET}]{10}$`));
    expect(parsePairCommand(`/pair ${code.slice(0, 5)}-${code.slice(5).toLowerCase()}`)).toBe(code);
    expect(parsePairCommand("/pair x")).toBeNull();
    expect(parsePairCommand("/pair ABCDE")).toBe("");
    expect(parsePairCommand("hello /pair ABCDEFGHJK")).toBeNull();
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

export type { Id };
