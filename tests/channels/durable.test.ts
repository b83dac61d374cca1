// @vitest-environment node
/**
 * Durable delivery (agent/runs.ts, channels/delivery.ts): leases that expire after a crash are
 * re-scheduled by the sweeper, a duplicate attempt sends nothing, a request that may have reached
 * a vendor without idempotency is failed instead of re-sent, and nothing stays pending past its
 * deadline. Crashes are simulated by claiming work and never finishing it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { appendChannelTurn } from "../../convex/chat/turns";
import { api, internal } from "../../convex/_generated/api";
import type { Doc, Id } from "../../convex/_generated/dataModel";
import { newT, type T } from "../harness";
import { MockVendor, drain, post, setupChannel } from "./helpers";
import { KITS } from "./kits";
import type { Platform } from "../../convex/channels/platforms";

const mock = new MockVendor();
beforeAll(async () => {
  await mock.start();
  mock.useForAllVendors();
});
afterAll(async () => {
  await mock.stop();
});
afterEach(() => mock.reset());

const kit = (p: Platform) => KITS.find((k) => k.platform === p)!;
const sends = () => mock.requests.filter((r) => r.method === "POST");

/** One answered channel message; returns the user, the channel and the answer's message. */
async function answered(platform: Platform) {
  const t = newT();
  const ch = await setupChannel(t, platform);
  expect((await post(t, ch.path, await kit(platform).valid(ch, 1, `hi ${platform}`))).status).toBe(200);
  await drain(t);
  mock.reset();
  const [user] = await t.run((ctx) => ctx.db.query("channelUsers").collect());
  const answer = (await t.run((ctx) => ctx.db.query("messages").collect())).find((m) => m.role === "assistant")!;
  expect(answer.status).toBe("done");
  return { t, ch, user, answer };
}

/** A new channel message of `user`, recorded with its pending answer; returns the answer's id. */
async function pendingTurn(t: T, user: Doc<"channelUsers">, text: string): Promise<Id<"messages">> {
  const turn = await t.run((ctx) =>
    appendChannelTurn(ctx, { workspaceId: user.workspaceId, channelUserId: user._id, text }),
  );
  if (!turn.ok) throw new Error(turn.code);
  return turn.assistantMessageId;
}

/** A queued reply for the answer, as queueReply writes it, without its scheduled send. */
async function queued(
  t: T,
  user: Doc<"channelUsers">,
  messageId: Id<"messages">,
  extra: Partial<Doc<"channelOutbox">> = {},
) {
  return await t.run(async (ctx) => {
    const now = Date.now();
    return await ctx.db.insert("channelOutbox", {
      workspaceId: user.workspaceId,
      channelUserId: user._id,
      text: "the answer",
      createdAt: now,
      state: "queued",
      attempts: 0,
      leaseUntil: now + 60_000,
      deadlineAt: now + 15 * 60_000,
      idemKey: "warden-test-key-1",
      messageId,
      ...extra,
    });
  });
}

const expire = (t: T, id: Id<"channelOutbox"> | Id<"messages">) =>
  t.run((ctx) => ctx.db.patch(id as Id<"channelOutbox">, { leaseUntil: Date.now() - 1 }));
const row = (t: T, id: Id<"channelOutbox">) => t.run((ctx) => ctx.db.get(id));
const msg = (t: T, id: Id<"messages">) => t.run((ctx) => ctx.db.get(id));
const notifications = (t: T) => t.run((ctx) => ctx.db.query("notifications").collect());

describe("channel replies", () => {
  test("the agent run makes its answer's first attempt itself: delivered, no scheduled send", async () => {
    const { t } = await answered("telegram");
    // answered() drained one webhook: its reply went out from the run, not from a replies:send job
    const jobs = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
    expect(jobs.map((j) => j.name)).toContain("agent/run:handleChannelMessage");
    expect(jobs.map((j) => j.name)).not.toContain("channels/replies:send");
    expect(await t.run((ctx) => ctx.db.query("channelOutbox").collect())).toEqual([]);
    // sent (recordResult deletes the row and counts it), not dropped
    const summary = await t.run((ctx) => ctx.db.query("channelMessageSummary").collect());
    expect(summary.map((r) => r.outbound)).toEqual([1]);
  });

  test("a run that dies between storing its answer and the first attempt: the sweeper sends it once the start lease expires", async () => {
    const { t, user } = await answered("telegram");
    const id = await pendingTurn(t, user, "again");
    expect(await t.mutation(internal.agent.runs.startRun, { assistantMessageId: id })).not.toBeNull();
    // the run stores its answer and dies before sending: finish names the row the run was to send
    const outboxId = await t.mutation(internal.agent.context.finish, {
      assistantMessageId: id,
      text: "stored, never sent by its run",
      status: "done",
      activity: [],
    });
    expect(outboxId).not.toBeNull();
    await drain(t);
    expect(sends()).toHaveLength(0);
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 0, failed: 0 });
    await expire(t, outboxId!);
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 1, failed: 0 });
    await drain(t);
    expect(sends()).toHaveLength(1);
    expect(JSON.parse(sends()[0].body).text).toBe("stored, never sent by its run");
    expect(await row(t, outboxId!)).toBeNull();
  });

  test("crash after the claim, before the request left: the lease expires, the sweeper re-sends, delivered once", async () => {
    const { t, user, answer } = await answered("telegram");
    const id = await queued(t, user, answer._id);
    expect(await t.mutation(internal.channels.delivery.claimSend, { outboxId: id })).toMatchObject({ attempt: 1 });
    // the process dies here; on restart the row is "sending" under a lease nobody holds
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 0, failed: 0 }); // lease still live
    await expire(t, id);
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 1, failed: 0 });
    await drain(t);
    expect(sends()).toHaveLength(1);
    expect(await row(t, id)).toBeNull();
    expect((await msg(t, answer._id))?.status).toBe("done");
  });

  test("a duplicate attempt sends nothing: concurrent jobs for one row, then a late job after success", async () => {
    const { t, user, answer } = await answered("telegram");
    const id = await queued(t, user, answer._id);
    await Promise.all([
      t.action(internal.channels.replies.send, { outboxId: id }),
      t.action(internal.channels.replies.send, { outboxId: id }),
      t.action(internal.channels.replies.send, { outboxId: id }),
    ]);
    expect(sends()).toHaveLength(1);
    await t.action(internal.channels.replies.send, { outboxId: id, attempt: 2 });
    expect(sends()).toHaveLength(1);
  });

  test("interrupted after the request left, vendor without idempotency (Telegram): failed as DELIVERY_UNCERTAIN, never re-sent, visible", async () => {
    const { t, ch, user, answer } = await answered("telegram");
    const id = await queued(t, user, answer._id);
    const claim = (await t.mutation(internal.channels.delivery.claimSend, { outboxId: id }))!;
    expect(await t.mutation(internal.channels.delivery.markDispatched, { outboxId: id, attempt: claim.attempt })).toBe(
      true,
    );
    await expire(t, id);
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 0, failed: 1 });
    await drain(t);
    expect(sends()).toHaveLength(0);
    expect(await row(t, id)).toBeNull();
    expect(await msg(t, answer._id)).toMatchObject({ status: "error", errorCode: "DELIVERY_UNCERTAIN" });
    // the conversation, the channel's health and a notification show it
    const [view] = await ch.as.query(api.channels.manage.list, {});
    expect(view.health).toMatchObject({ failing: true, lastFailureCode: "DELIVERY_UNCERTAIN", failures: 1 });
    const page = await ch.as.query(api.chat.owner.listMessages, {
      threadId: answer.threadId,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(page.page.find((m) => m._id === answer._id)).toMatchObject({
      status: "error",
      errorCode: "DELIVERY_UNCERTAIN",
    });
    const notes = await notifications(t);
    expect(notes.filter((n) => n.kind === "delivery_failed")).toHaveLength(1);
    expect(JSON.stringify(notes)).not.toMatch(/the answer|4242/);
  });

  test("interrupted after the request left, vendor with idempotency (Resend): re-sent with the same Idempotency-Key", async () => {
    const { t, user, answer } = await answered("resend");
    const id = await queued(t, user, answer._id, { idemKey: "warden-abc123" });
    const claim = (await t.mutation(internal.channels.delivery.claimSend, { outboxId: id }))!;
    await t.mutation(internal.channels.delivery.markDispatched, { outboxId: id, attempt: claim.attempt });
    await expire(t, id);
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 1, failed: 0 });
    await drain(t);
    expect(sends()).toHaveLength(1);
    expect(sends()[0].headers["idempotency-key"]).toBe("warden-abc123");
    expect(await row(t, id)).toBeNull();
  });

  test("past the deadline (or the attempt budget) a reply fails as DELIVERY_EXPIRED instead of staying queued", async () => {
    const { t, ch, user, answer } = await answered("telegram");
    const late = await queued(t, user, answer._id, { deadlineAt: Date.now() - 1, leaseUntil: Date.now() - 1 });
    const spent = await queued(t, user, answer._id, { attempts: 5, leaseUntil: Date.now() - 1 });
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 0, failed: 2 });
    expect(await row(t, late)).toBeNull();
    expect(await row(t, spent)).toBeNull();
    expect(sends()).toHaveLength(0);
    expect((await msg(t, answer._id))?.errorCode).toBe("DELIVERY_EXPIRED");
    expect((await ch.as.query(api.channels.manage.list, {}))[0].health?.lastFailureCode).toBe("DELIVERY_EXPIRED");
    // throttled: two failures, one notification
    expect((await notifications(t)).filter((n) => n.kind === "delivery_failed")).toHaveLength(1);
  });

  test("a final vendor failure marks the message and the channel; the next delivered reply clears the badge", async () => {
    const { t, ch, user, answer } = await answered("telegram");
    mock.respond = () => ({ status: 400, body: { ok: false, description: "Bad Request: chat not found" } });
    const id = await queued(t, user, answer._id);
    await t.action(internal.channels.replies.send, { outboxId: id });
    expect(await msg(t, answer._id)).toMatchObject({ status: "error", errorCode: "VENDOR_ERROR" });
    expect((await ch.as.query(api.channels.manage.list, {}))[0].health).toMatchObject({
      failing: true,
      lastFailureCode: "VENDOR_ERROR",
    });
    mock.reset();
    await t.action(internal.channels.replies.send, {
      outboxId: await queued(t, user, answer._id, { messageId: undefined }),
    });
    expect(sends()).toHaveLength(1);
    expect((await ch.as.query(api.channels.manage.list, {}))[0].health).toMatchObject({
      failing: false,
      lastFailureCode: "VENDOR_ERROR",
      failures: 1,
    });
  });

  test("a send job lost before it ran (queued, lease expired) is re-scheduled", async () => {
    const { t, user, answer } = await answered("slack");
    const id = await queued(t, user, answer._id, { leaseUntil: Date.now() - 1 });
    expect(await t.mutation(internal.channels.delivery.sweepOutbox, {})).toEqual({ rescheduled: 1, failed: 0 });
    await drain(t);
    expect(sends()).toHaveLength(1);
    expect(await row(t, id)).toBeNull();
  });
});

describe("agent runs", () => {
  test("a run that crashed after its claim is re-scheduled when the lease expires, and its reply is queued once", async () => {
    const { t, user } = await answered("telegram");
    const id = await pendingTurn(t, user, "again");
    expect(await msg(t, id)).toMatchObject({ status: "pending", attempts: 0 });
    expect(await t.mutation(internal.agent.runs.startRun, { assistantMessageId: id })).not.toBeNull();
    // a duplicate job while the lease is live does nothing
    expect(await t.mutation(internal.agent.runs.startRun, { assistantMessageId: id })).toBeNull();
    expect(await t.mutation(internal.agent.runs.sweepRuns, {})).toEqual({ rescheduled: 0, failed: 0 });
    await expire(t, id);
    expect(await t.mutation(internal.agent.runs.sweepRuns, {})).toEqual({ rescheduled: 1, failed: 0 });
    await drain(t);
    expect(await msg(t, id)).toMatchObject({ status: "done", attempts: 2 });
    expect(sends()).toHaveLength(1);
    // a late job for the finished message changes nothing and queues nothing
    await t.action(internal.agent.run.handleChannelMessage, { channelUserId: user._id, assistantMessageId: id });
    await drain(t);
    expect(sends()).toHaveLength(1);
  });

  test("a pending message never outlives its deadline: AGENT_TIMEOUT on the conversation, a notice to the channel user, a notification", async () => {
    const { t, user } = await answered("telegram");
    const id = await pendingTurn(t, user, "stuck");
    await t.run((ctx) =>
      ctx.db.patch(id, { running: true, attempts: 1, leaseUntil: Date.now() - 1, deadlineAt: Date.now() - 1 }),
    );
    expect(await t.mutation(internal.agent.runs.sweepRuns, {})).toEqual({ rescheduled: 0, failed: 1 });
    expect(await msg(t, id)).toMatchObject({ status: "error", errorCode: "AGENT_TIMEOUT" });
    await drain(t);
    expect(sends()).toHaveLength(1);
    expect(JSON.parse(sends()[0].body).text).toMatch(/unavailable/);
    expect((await notifications(t)).map((n) => n.kind)).toContain("agent_run");
    // a job that arrives afterwards does not run the model again
    expect(await t.mutation(internal.agent.runs.startRun, { assistantMessageId: id })).toBeNull();
  });

  test("the attempt budget ends retries of a run that keeps crashing", async () => {
    const { t, user } = await answered("telegram");
    const id = await pendingTurn(t, user, "crashy");
    for (let i = 0; i < 3; i++) {
      expect(await t.mutation(internal.agent.runs.startRun, { assistantMessageId: id })).not.toBeNull();
      await expire(t, id);
    }
    expect(await t.mutation(internal.agent.runs.sweepRuns, {})).toEqual({ rescheduled: 0, failed: 1 });
    expect((await msg(t, id))?.errorCode).toBe("AGENT_TIMEOUT");
  });
});
