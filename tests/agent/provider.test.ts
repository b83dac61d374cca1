// @vitest-environment node
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { api, internal } from "../../convex/_generated/api";
import { publicChat, session, thread, waitForReply } from "../chat/setup";
import { replyChat } from "./chatMock";

// A mock OpenAI-compatible endpoint on 127.0.0.1: the real AI SDK path, offline.
const KEY = "mock-llm-key-canary-93ab";
let server: Server;
let base = "";
let mode: "ok" | "fail" = "ok";
const requests: { auth: string | undefined; body: any }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : null;
      requests.push({ auth: req.headers.authorization, body });
      if (mode === "fail" || req.url !== "/v1/chat/completions") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "upstream exploded" } }));
        return;
      }
      const msgs: any[] = body.messages;
      const toolMsg = msgs.find((m) => m.role === "tool");
      if (toolMsg) void replyChat(res, body, { content: `Tool said: ${toolMsg.content}` }, "stop");
      else if (body.tools?.length)
        void replyChat(
          res,
          body,
          {
            content: null,
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: body.tools[0].function.name, arguments: '{"text":"a b c d"}' },
              },
            ],
          },
          "tool_calls",
        );
      else void replyChat(res, body, { content: `Mock reply to: ${msgs.at(-1).content}` }, "stop");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  requests.length = 0;
  mode = "ok";
  process.env.WARDEN_DEV = "1";
  process.env.WARDEN_MODEL_KEY_MOCK = KEY;
  process.env.WARDEN_MODEL_KEY_MOCK_HOSTS = new URL(base).host;
});
afterEach(() => {
  delete process.env.WARDEN_DEV;
  delete process.env.WARDEN_MODEL_KEY_MOCK;
  delete process.env.WARDEN_MODEL_KEY_MOCK_HOSTS;
});

async function setup() {
  const { t, owner } = await publicChat();
  const pid = await owner.as.mutation(api.agent.providers.create, {
    label: "Local",
    kind: "openai-compatible",
    baseUrl: base,
    apiKeyEnvVar: "WARDEN_MODEL_KEY_MOCK",
  });
  await owner.as.mutation(api.agent.config.update, { providerId: pid, model: "mock-1", fallbackModel: "offline" });
  return { t, owner };
}

describe("AI SDK provider (OpenAI-compatible mock)", () => {
  test("the key goes only into the Authorization header; the prompt is soul + messages", async () => {
    const { t } = await setup();
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "ping" });
    const reply = await waitForReply(t, s, th);
    expect(reply).toMatchObject({ status: "done", text: "Mock reply to: ping" });
    expect(requests).toHaveLength(1);
    expect(requests[0].auth).toBe(`Bearer ${KEY}`);
    expect(JSON.stringify(requests[0].body)).not.toContain(KEY);
    expect(requests[0].body.messages.map((m: any) => m.role)).toEqual(["system", "user"]);
  });

  test("model tool calls run through the checker; the skill's secret canary never reaches the provider", async () => {
    const { t, owner } = await setup();
    await t.mutation(internal.skills.codeSync.sync, {});
    const skill = await t.run((ctx) =>
      ctx.db
        .query("skillRegistry")
        .withIndex("by_workspace_name", (q) => q.eq("workspaceId", owner.workspaceId).eq("name", "word_count"))
        .unique(),
    );
    await owner.as.mutation(api.skills.registry.approve, { skillId: skill!._id });
    const CANARY = "canary-provider-path-55e1c0";
    await owner.as.mutation(api.secrets.manage.setSkillSecret, {
      skillId: skill!._id,
      name: "API_TOKEN",
      value: CANARY,
    });
    await owner.as.mutation(api.agent.config.update, { enabledSkillIds: [skill!._id] });
    await owner.as.mutation(api.agency.grants.set, {
      toolRef: "skill:word_count",
      audience: "webVisitor",
      policy: "allow",
    });
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "count words please" });
    const reply = await waitForReply(t, s, th);
    expect(reply.status).toBe("done");
    expect(reply.text).toContain('"words":4');
    expect(requests.length).toBe(2);
    expect(requests[0].body.tools[0].function.name).toBe("skill_word_count");
    expect(JSON.stringify(requests)).not.toContain(CANARY);
    const log = await t.run((ctx) => ctx.db.query("invocationLog").collect());
    expect(log[0]).toMatchObject({ callerKind: "agent", code: "OK", targetName: "word_count" });
  });

  test("provider HTTP 500 → PROVIDER_ERROR (reason server_error) logged, fallback to offline", async () => {
    const { t } = await setup();
    mode = "fail";
    const s = await session(t);
    const th = await thread(t, s);
    await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "hello" });
    const reply = await waitForReply(t, s, th);
    expect(reply.status).toBe("done");
    expect(reply.text).toContain("Offline model (not a language model)");
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    expect(act.find((a) => a.kind === "agent.provider_error")?.meta).toMatchObject({
      code: "PROVIDER_ERROR",
      reason: "server_error",
      status: 500,
    });
    expect(act.some((a) => a.kind === "agent.fallback")).toBe(true);
    expect(JSON.stringify(act)).not.toMatch(/upstream exploded|hello/);
  });
});
