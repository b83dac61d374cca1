// @vitest-environment node
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { api, internal } from "../../convex/_generated/api";
import { expectCode, type T } from "../harness";
import { publicChat, session, thread, waitForReply } from "./setup";
import * as voiceModule from "../../convex/voice/sessions";
import * as elevenModule from "../../convex/voice/elevenlabs";

const KEY = "xi-test-key-canary-5b1d2f";
const VOICE_ID = "voice-id-canary-21m00Tcm4";
let server: Server;
let base = "";
let mode: "ok" | "fail" = "ok";
/** the agent's max_duration_seconds as ElevenLabs reports it (undefined: not set) */
let agentCap: number | undefined = 300;
/** what ElevenLabs reports for a conversation */
let conversation: { status: string; secs?: number } = { status: "done", secs: 0 };
let nextConversation = 1;
const seen: { url: string; key: string | undefined; method: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    seen.push({ url: req.url ?? "", key: req.headers["xi-api-key"] as string | undefined, method: req.method ?? "" });
    const u = new URL(req.url ?? "/", "http://x");
    if (mode !== "fail" && req.headers["xi-api-key"] === KEY && u.pathname.startsWith("/v1/convai/agents/")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          agent_id: "agent_test1",
          conversation_config: { conversation: agentCap === undefined ? {} : { max_duration_seconds: agentCap } },
        }),
      );
      return;
    }
    if (mode !== "fail" && req.headers["xi-api-key"] === KEY && u.pathname.startsWith("/v1/convai/conversations/")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          conversation_id: u.pathname.split("/").pop(),
          status: conversation.status,
          metadata: { call_duration_secs: conversation.secs },
        }),
      );
      return;
    }
    if (
      mode === "fail" ||
      u.pathname !== "/v1/convai/conversation/get-signed-url" ||
      req.headers["xi-api-key"] !== KEY
    ) {
      res.writeHead(mode === "fail" ? 500 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: `bad key ${KEY}` }));
      return;
    }
    const agent = u.searchParams.get("agent_id");
    res.writeHead(200, { "content-type": "application/json" });
    // extra fields a careless proxy would pass on: the key echo and a voice id
    const conversation_id =
      u.searchParams.get("include_conversation_id") === "true" ? `conv_${nextConversation++}` : undefined;
    res.end(
      JSON.stringify({
        signed_url: `wss://convai.example/v1/convai/conversation?agent_id=${agent}&conversation_signature=sig123`,
        conversation_id,
        voice_id: VOICE_ID,
        xi: KEY,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen.length = 0;
  mode = "ok";
  agentCap = 300;
  conversation = { status: "done", secs: 0 };
  process.env.ELEVENLABS_API_KEY = KEY;
  process.env.ELEVENLABS_AGENT_ID = "agent_test1";
  process.env.WARDEN_ELEVENLABS_API_BASE = base;
});
afterEach(() => {
  delete process.env.ELEVENLABS_API_KEY;
  delete process.env.ELEVENLABS_AGENT_ID;
  delete process.env.WARDEN_ELEVENLABS_API_BASE;
  vi.useRealTimers();
});

async function ready(t: T, sessionToken: string, voiceSessionId: string) {
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 5));
    await t.finishInProgressScheduledFunctions();
    const g = await t.query(api.voice.sessions.get, { sessionToken, voiceSessionId });
    if (g.status !== "pending") return g;
  }
  throw new Error("voice session stayed pending");
}

/** Waits until the row's charged seconds satisfy `ok` (settle runs as a scheduled action). */
async function charged(t: T, voiceSessionId: string, ok: (s: number | undefined) => boolean) {
  for (let i = 0; i < 400; i++) {
    await t.finishInProgressScheduledFunctions();
    const row = await t.run((ctx) => ctx.db.get(voiceSessionId as never));
    if (ok((row as { usedSeconds?: number } | null)?.usedSeconds)) return (row as { usedSeconds?: number }).usedSeconds;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("voice session was not charged as expected");
}

describe("voice sessions (ElevenLabs, mocked on 127.0.0.1)", () => {
  test("signed URL minted server-side with the xi-api-key header; the browser gets only the URL", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    expect(r).toMatchObject({ ok: true, grantedSeconds: 300 });
    if (!r.ok) throw new Error();
    const g = await ready(t, s, r.voiceSessionId);
    expect(g.status).toBe("ready");
    expect(g.signedUrl).toBe(
      "wss://convai.example/v1/convai/conversation?agent_id=agent_test1&conversation_signature=sig123",
    );
    expect(seen).toEqual([
      { method: "GET", url: "/v1/convai/agents/agent_test1", key: KEY },
      {
        method: "GET",
        url: "/v1/convai/conversation/get-signed-url?agent_id=agent_test1&include_conversation_id=true",
        key: KEY,
      },
    ]);
    const everything = JSON.stringify([
      r,
      g,
      await t.run((ctx) => ctx.db.query("voiceSessions").collect()),
      await t.run((ctx) => ctx.db.query("activityLog").collect()),
    ]);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain(VOICE_ID);
    expect(everything).not.toMatch(/voice_id/);
    expect(JSON.stringify([r, g])).not.toContain("conv_"); // the conversation id stays server side
    // another session cannot read it
    const other = await session(t);
    await expectCode(
      t.query(api.voice.sessions.get, { sessionToken: other, voiceSessionId: r.voiceSessionId }),
      "FORBIDDEN",
    );
  });

  test("duration limit: 300 s per session per hour, unused time returned, denial → RATE_LIMITED with retryAfterMs; separate from text limits", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { t } = await publicChat();
    const s = await session(t);
    const a = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!a.ok) throw new Error();
    // a second session now: all 300 s are granted to the first → denied
    const denied = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    expect(denied).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    if (denied.ok) throw new Error();
    expect(denied.retryAfterMs).toBeGreaterThan(59 * 60_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    // end after 60 s: the whole grant counts until ElevenLabs reports 60 s; then 240 s come back
    await ready(t, s, a.voiceSessionId);
    vi.setSystemTime(Date.now() + 60_000);
    conversation = { status: "done", secs: 59.2 };
    expect(await t.mutation(api.voice.sessions.end, { sessionToken: s, voiceSessionId: a.voiceSessionId })).toEqual({
      usedSeconds: 300,
    });
    expect(await charged(t, a.voiceSessionId, (x) => x === 60)).toBe(60);
    agentCap = 240; // an agent capped at 300 s could outlast a 240 s grant (see the cap test)
    const b = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    expect(b).toMatchObject({ ok: true, grantedSeconds: 240 });
    if (!b.ok) throw new Error();
    await ready(t, s, b.voiceSessionId);
    vi.setSystemTime(Date.now() + 235_000);
    conversation = { status: "done", secs: 235 };
    await t.mutation(api.voice.sessions.end, { sessionToken: s, voiceSessionId: b.voiceSessionId });
    await charged(t, b.voiceSessionId, (x) => x === 235);
    const c = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    expect(c).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    // text chat is unaffected by the voice budget
    const th = await thread(t, s);
    expect((await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "still typing" })).ok).toBe(
      true,
    );
    // an hour after the first session, time is available again
    vi.setSystemTime(Date.now() + 3_600_000);
    expect((await t.mutation(api.voice.sessions.start, { sessionToken: s })).ok).toBe(true);
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(ev.some((e) => e.detail === "limit=voiceSecondsPerHour")).toBe(true);
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    expect(act.map((x) => x.kind)).toEqual(
      expect.arrayContaining(["voice.session_started", "voice.session_ended", "voice.denied"]),
    );
    // another chat session has its own budget
    const s2 = await session(t);
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: s2 })).toMatchObject({
      ok: true,
      grantedSeconds: 300,
    });
  });

  test("per source: new chat sessions from one client IP share 900 s/hour; another IP is not affected", async () => {
    const { t } = await publicChat();
    const ip = "203.0.113.50";
    for (let i = 0; i < 3; i++) {
      const s = await session(t, ip);
      expect(await t.mutation(api.voice.sessions.start, { sessionToken: s })).toMatchObject({
        ok: true,
        grantedSeconds: 300,
      });
    }
    // a 4th fresh session from the same address gets nothing, however many it mints
    const denied = await t.mutation(api.voice.sessions.start, { sessionToken: await session(t, ip) });
    expect(denied).toMatchObject({ ok: false, code: "RATE_LIMITED" });
    if (denied.ok) throw new Error();
    expect(denied.retryAfterMs).toBeGreaterThan(59 * 60_000);
    // IPv6: the /64 is one source
    const v6 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4"];
    const v6r = [];
    for (const a of v6)
      v6r.push((await t.mutation(api.voice.sessions.start, { sessionToken: await session(t, a) })).ok);
    expect(v6r).toEqual([true, true, true, false]);
    expect(
      await t.mutation(api.voice.sessions.start, { sessionToken: await session(t, "203.0.113.51") }),
    ).toMatchObject({ ok: true });
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(ev.filter((e) => e.detail === "limit=voiceSecondsPerSource")).toHaveLength(2);
  });

  test("per workspace: all visitors combined (configurable), so many sources cannot run up the bill", async () => {
    const { t, owner } = await publicChat();
    await owner.as.mutation(api.limits.manage.set, {
      name: "voiceSecondsPerWorkspace",
      rate: 600,
      periodMs: 3_600_000,
    });
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: await session(t) })).toMatchObject({
      ok: true,
      grantedSeconds: 300,
    });
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: await session(t) })).toMatchObject({
      ok: true,
      grantedSeconds: 300,
    });
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: await session(t) })).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
    const ev = await t.run((ctx) => ctx.db.query("securityEvents").collect());
    expect(ev.some((e) => e.detail === "limit=voiceSecondsPerWorkspace")).toBe(true);
    // default 3600 s/hour; an unusable override fails closed
    await owner.as.mutation(api.limits.manage.reset, { name: "voiceSecondsPerWorkspace" });
    expect(
      (await owner.as.query(api.limits.manage.list, {})).find((l) => l.name === "voiceSecondsPerWorkspace"),
    ).toMatchObject({ rate: 3600 });
    await t.run(async (ctx) => {
      await ctx.db.insert("rateLimitConfig", {
        workspaceId: owner.workspaceId,
        name: "voiceSecondsPerWorkspace",
        rate: 0,
        periodMs: 3_600_000,
        updatedAt: 0,
      });
    });
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: await session(t) })).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
  });

  test("the browser's 'end' gives nothing back while ElevenLabs may still be talking; its reported duration does", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { t } = await publicChat();
    const s = await session(t);
    const a = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!a.ok) throw new Error();
    await ready(t, s, a.voiceSessionId);
    vi.setSystemTime(Date.now() + 10_000);
    conversation = { status: "in-progress", secs: 10 };
    expect(await t.mutation(api.voice.sessions.end, { sessionToken: s, voiceSessionId: a.voiceSessionId })).toEqual({
      usedSeconds: 300,
    });
    await new Promise((r) => setTimeout(r, 50));
    await t.finishInProgressScheduledFunctions();
    // still running at ElevenLabs: the whole grant stays charged; a re-check is scheduled after the grant's end
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: s })).toMatchObject({
      ok: false,
      code: "RATE_LIMITED",
    });
    const jobs = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
    expect(jobs.some((j) => j.name === "voice/sessions:settle" && j.state.kind === "pending")).toBe(true);
    expect(seen.some((r) => r.url.startsWith("/v1/convai/conversations/conv_"))).toBe(true);
  });

  test("ElevenLabs ends the conversation in time: no URL unless the agent's own cap is set and fits the grant", async () => {
    const { t } = await publicChat();
    for (const [cap, code] of [
      [undefined, "VOICE_AGENT_UNCAPPED"],
      [600, "VOICE_AGENT_UNCAPPED"],
      [301, "VOICE_AGENT_UNCAPPED"],
    ] as const) {
      agentCap = cap;
      seen.length = 0;
      const s = await session(t);
      const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
      if (!r.ok) throw new Error();
      expect(await ready(t, s, r.voiceSessionId)).toMatchObject({ status: "error", errorCode: code });
      expect(seen.some((x) => x.url.startsWith("/v1/convai/agents/"))).toBe(true);
      expect(seen.filter((x) => x.url.includes("get-signed-url"))).toEqual([]); // no signed URL was asked for
      // nothing was used: the grant goes back
      expect(await t.mutation(api.voice.sessions.start, { sessionToken: s })).toMatchObject({
        ok: true,
        grantedSeconds: 300,
      });
    }
    agentCap = 120;
    const s = await session(t);
    const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!r.ok) throw new Error();
    expect((await ready(t, s, r.voiceSessionId)).status).toBe("ready");
  });

  test("server-side end at the grant's end: the URL is withdrawn and the session closed, whatever the browser does", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { t } = await publicChat();
    const s = await session(t);
    const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!r.ok) throw new Error();
    await ready(t, s, r.voiceSessionId);
    const row = await t.run((ctx) => ctx.db.get(r.voiceSessionId));
    const jobs = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
    const expire = jobs.find((j) => j.name === "voice/sessions:expire");
    expect(expire?.scheduledTime).toBeGreaterThanOrEqual(row!.startedAt + 300_000);
    expect(expire?.scheduledTime).toBeLessThan(row!.startedAt + 301_000);
    vi.setSystemTime(row!.startedAt + 300_000);
    await t.mutation(internal.voice.sessions.expire, { voiceSessionId: r.voiceSessionId });
    const after = await t.run((ctx) => ctx.db.get(r.voiceSessionId));
    expect(after).toMatchObject({ status: "ended", usedSeconds: 300 });
    expect(after!.signedUrl).toBeUndefined();
    const g = await t.query(api.voice.sessions.get, { sessionToken: s, voiceSessionId: r.voiceSessionId });
    expect(g.status).toBe("ended");
    expect(g.signedUrl).toBeUndefined();
    await expectCode(
      t.mutation(api.voice.sessions.submitTranscript, {
        sessionToken: s,
        voiceSessionId: r.voiceSessionId,
        threadId: await thread(t, s),
        text: "late",
      }),
      "VOICE_SESSION_INACTIVE",
    );
  });

  test("upstream failure → error status, the grant is returned; missing key → VOICE_NOT_CONFIGURED", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    mode = "fail";
    const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!r.ok) throw new Error();
    const g = await ready(t, s, r.voiceSessionId);
    expect(g).toMatchObject({ status: "error", errorCode: "UPSTREAM_ERROR" });
    expect(g.signedUrl).toBeUndefined();
    mode = "ok";
    expect(await t.mutation(api.voice.sessions.start, { sessionToken: s })).toMatchObject({
      ok: true,
      grantedSeconds: 300,
    });
    delete process.env.ELEVENLABS_API_KEY;
    await expectCode(t.mutation(api.voice.sessions.start, { sessionToken: s }), "VOICE_NOT_CONFIGURED");
  });

  test("transcripts are sanitized before the agent sees them; refused once the voice session ended", async () => {
    const { t } = await publicChat();
    const s = await session(t);
    const th = await thread(t, s);
    const r = await t.mutation(api.voice.sessions.start, { sessionToken: s });
    if (!r.ok) throw new Error();
    const sub = await t.mutation(api.voice.sessions.submitTranscript, {
      sessionToken: s,
      voiceSessionId: r.voiceSessionId,
      threadId: th,
      text: "  hello\u0000\u0007   wor\u202Eld \r\n\r\n\r\n\r\n e\u0301 " + "x".repeat(5000),
    });
    expect(sub.ok).toBe(true);
    const reply = await waitForReply(t, s, th);
    const msgs = await t.query(api.chat.threads.listMessages, {
      sessionToken: s,
      threadId: th,
      paginationOpts: { numItems: 10, cursor: null },
    });
    const user = msgs.page.find((m) => m.role === "user")!;
    expect(user.text.startsWith("hello world\n\n\u00e9 xxx")).toBe(true);
    expect(user.text.length).toBe(4000);
    expect(reply.status).toBe("done");
    const act = JSON.stringify(await t.run((ctx) => ctx.db.query("activityLog").collect()));
    expect(act).not.toContain("hello world");
    await expectCode(
      t.mutation(api.voice.sessions.submitTranscript, {
        sessionToken: await session(t),
        voiceSessionId: r.voiceSessionId,
        threadId: th,
        text: "x",
      }),
      "FORBIDDEN",
    );
    await t.mutation(api.voice.sessions.end, { sessionToken: s, voiceSessionId: r.voiceSessionId });
    await expectCode(
      t.mutation(api.voice.sessions.submitTranscript, {
        sessionToken: s,
        voiceSessionId: r.voiceSessionId,
        threadId: th,
        text: "late",
      }),
      "VOICE_SESSION_INACTIVE",
    );
  });

  test("no voice cloning / voice listing functions exist, and the fetcher refuses URLs carrying the key or a voice id", async () => {
    const names = [...Object.keys(voiceModule), ...Object.keys(elevenModule)];
    expect(names.filter((n) => /clone|voices|voiceId|tts/i.test(n))).toEqual([]);
    // a signed URL that would leak the key or a voice id is refused
    const leaky = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ signed_url: `wss://x.example/c?voice_id=${VOICE_ID}` }));
    });
    await new Promise<void>((r) => leaky.listen(0, "127.0.0.1", r));
    const lb = `http://127.0.0.1:${(leaky.address() as AddressInfo).port}`;
    try {
      expect(await elevenModule.fetchSignedUrl({ base: lb, apiKey: KEY, agentId: "a1" })).toEqual({
        ok: false,
        code: "UPSTREAM_ERROR",
      });
    } finally {
      await new Promise<void>((r) => leaky.close(() => r()));
    }
    expect(elevenModule.elevenLabsBase({ WARDEN_ELEVENLABS_API_BASE: "http://evil.example" })).toBeNull();
    expect(elevenModule.elevenLabsBase({})).toBe("https://api.elevenlabs.io");
  });
});
