// @vitest-environment node
/**
 * Message text never travels as a scheduled-function argument (issue 17.3): Convex keeps
 * `_scheduled_functions` outside Warden's redaction and retention, so the scheduler gets ids and
 * the text sits in its domain's table (messages, channelOutbox). Drives a signed Telegram
 * webhook with its reply, a too-long message, a pairing reply, an owner's approval decision on
 * a channel thread and a /chat message, then reads every scheduled job's arguments.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { DENIED_TEXT } from "../../convex/agency/approvals";
import { PAIR_FIRST_TEXT } from "../../convex/agency/pairing";
import { newT, type T } from "../harness";
import { MockVendor, drain, post, setupChannel, signTelegram, telegramUpdate } from "../channels/helpers";
import { session, thread, waitForReply } from "../chat/setup";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => mock.reset());

const CANARY_TG = "canary-telegram-7f3a91 please keep this private";
const CANARY_WEB = "canary-webchat-c0ffee my private question";

async function scheduled(t: T) {
  return await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
}

test("no message text in _scheduled_functions: channel in/out, notices, approvals, /chat", async () => {
  const t = newT();
  const ch = await setupChannel(t, "telegram", { workspace: "default" });

  // inbound message and the agent's reply (offline model echoes the text)
  expect((await post(t, ch.path, signTelegram(telegramUpdate(1, 4242, CANARY_TG)))).status).toBe(200);
  await drain(t);
  // a message over the workspace limit (notice from the agent domain)
  await ch.as.mutation(api.chat.owner.setMaxMessageChars, { maxMessageChars: 20 });
  expect((await post(t, ch.path, signTelegram(telegramUpdate(2, 4242, CANARY_TG + " again, too long")))).status).toBe(
    200,
  );
  await drain(t);
  // a pairing-policy reply to an unknown sender
  await ch.as.mutation(api.agency.pairing.setSenderPolicy, { channelId: ch.channelId, policy: "pairing" });
  expect((await post(t, ch.path, signTelegram(telegramUpdate(3, 5151, "hello from a stranger")))).status).toBe(200);
  await drain(t);

  // an owner's decision on a queued tool call in the channel thread (appendAssistantNote)
  const approvalId = await t.run(async (ctx) => {
    const th = (await ctx.db.query("threads").collect()).find((x) => x.channelUserId)!;
    return await ctx.db.insert("toolApprovals", {
      workspaceId: th.workspaceId,
      threadId: th._id,
      toolRef: "skill:send_mail",
      toolLabel: "send_mail",
      targetKind: "skill",
      skillName: "send_mail",
      inputJson: "{}",
      inputPreview: "{}",
      audience: "unknownSender",
      reason: "grant_ask",
      status: "pending",
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
  });
  await ch.as.mutation(api.agency.approvals.decide, { approvalId, approve: false });
  await drain(t);

  // public chat
  await ch.as.mutation(api.chat.owner.setMaxMessageChars, { maxMessageChars: 4000 });
  const s = await session(t);
  const th = await thread(t, s);
  await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: CANARY_WEB });
  await waitForReply(t, s, th);
  await drain(t);

  // the flows ran: replies went out with the texts, messages are stored
  const sent = mock.requests.map((r) => r.body).join("\n");
  expect(sent).toContain("canary-telegram-7f3a91");
  expect(sent).toContain("too long");
  expect(sent).toContain(PAIR_FIRST_TEXT.slice(0, 20));
  expect(sent).toContain(DENIED_TEXT.slice(0, 20));
  const texts = await t.run(async (ctx) =>
    (await ctx.db.query("messages").collect()).map((m) => m.text).filter((x) => x.length > 0),
  );
  expect(texts.some((x) => x.includes("canary-webchat-c0ffee"))).toBe(true);

  const jobs = await scheduled(t);
  expect(jobs.map((j) => j.name)).toEqual(
    expect.arrayContaining(["agent/run:handleChannelMessage", "channels/replies:send", "agent/run:respond"]),
  );
  const args = JSON.stringify(jobs.map((j) => j.args));
  for (const needle of [
    "canary-telegram-7f3a91",
    "canary-webchat-c0ffee",
    "too long",
    PAIR_FIRST_TEXT.slice(0, 20),
    DENIED_TEXT.slice(0, 20),
    ...texts.map((x) => x.slice(0, 24)),
  ]) {
    expect(args.includes(needle), `scheduler args contain ${needle}`).toBe(false);
  }
  // only ids (and a retry counter) are arguments
  for (const j of jobs)
    for (const [k, v] of Object.entries(j.args[0] as Record<string, unknown>))
      expect(k === "attempt" || typeof v === "string", `${j.name}.${k}`).toBe(true);
  expect(args).not.toMatch(/"text"/);
  // the outbox is empty once replies are delivered
  expect(await t.run((ctx) => ctx.db.query("channelOutbox").collect())).toEqual([]);
}, 60_000);
