import { api, internal } from "../../convex/_generated/api";
import { member, newT, type T } from "../harness";

/** The public chat serves the workspace with slug "default" (WARDEN_PUBLIC_WORKSPACE unset). */
export async function publicChat() {
  const t = newT();
  const owner = await member(t, { workspace: "default", role: "owner" });
  return { t, owner };
}

let nextIp = 0;

/** A session as POST /chat/session mints it, each from its own address (the per-IP limit is tested apart). */
export async function session(t: T, ip = `198.18.${(nextIp >> 8) & 255}.${nextIp++ & 255}`): Promise<string> {
  const r = await t.mutation(internal.chat.sessions.startFromHttp, { ip });
  if (!r.ok) throw new Error(`session start limited: ${r.code}`);
  return r.token;
}

export async function thread(t: T, sessionToken: string) {
  const r = await t.mutation(api.chat.threads.createThread, { sessionToken });
  if (!r.ok) throw new Error("thread limited");
  return r.threadId;
}

export async function messages(t: T, sessionToken: string, threadId: string) {
  const r = await t.query(api.chat.threads.listMessages, {
    sessionToken,
    threadId,
    paginationOpts: { numItems: 100, cursor: null },
  });
  return r.page.slice().reverse();
}

/** Real timers: lets scheduled functions (and their own timers) run, until the reply is no longer pending. */
export async function waitForReply(t: T, sessionToken: string, threadId: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await new Promise((r) => setTimeout(r, 5));
    await t.finishInProgressScheduledFunctions();
    const msgs = await messages(t, sessionToken, threadId);
    const last = msgs[msgs.length - 1];
    if (last && last.status !== "pending" && last.status !== "streaming") return last;
    if (Date.now() > until) throw new Error("reply did not arrive");
  }
}
