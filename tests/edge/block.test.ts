import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { expectCode } from "../harness";
import { publicChat } from "../chat/setup";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("blocking a visitor holds against 'Start a new conversation'", () => {
  test("a new session from the blocked source is refused for the window the owner chose; others are not; SyncBoard shows it", async () => {
    const { t, owner } = await publicChat();
    const from = (ip: string) => t.withRequestMetadata({ ip });
    const mint = async (ip: string) => from(ip).fetch("/chat/session", { method: "POST" });
    const { token } = await (await mint("203.0.113.40")).json();
    const threadId = await t
      .mutation(api.chat.threads.createThread, { sessionToken: token })
      .then((r) => (r.ok ? r.threadId : null));
    const threads = await owner.as.query(api.chat.owner.listThreads, {
      paginationOpts: { numItems: 10, cursor: null },
    });
    const sessionId = threads.page.find((x) => x._id === threadId)!.sessionId!;
    await expectCode(owner.as.mutation(api.chat.sessions.block, { sessionId, hours: 0 }), "CONFIG_INVALID");
    await owner.as.mutation(api.chat.sessions.block, { sessionId, hours: 2 });

    // "Start a new conversation" = a new session from the same connection address
    const again = await mint("203.0.113.40");
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({ error: "SOURCE_BLOCKED" });
    // forged forwarding headers do not get around it
    expect(
      (
        await from("203.0.113.40").fetch("/chat/session", {
          method: "POST",
          headers: { "X-Forwarded-For": "198.51.100.1", "X-Real-IP": "198.51.100.2" },
        })
      ).status,
    ).toBe(403);
    // another visitor is unaffected
    expect((await mint("203.0.113.41")).status).toBe(201);

    const view = await owner.as.query(api.chat.owner.listThreads, { paginationOpts: { numItems: 10, cursor: null } });
    const row = view.page.find((x) => x._id === threadId)!;
    expect(row.blocked).toBe(true);
    expect(row.sourceBlockedUntil).toBe(Date.now() + 2 * 3600_000);

    // the window ends when the owner said
    vi.advanceTimersByTime(2 * 3600_000 + 1000);
    expect((await mint("203.0.113.40")).status).toBe(201);
  });
});
