// @vitest-environment node
/**
 * An upstream that echoes its credential base64-, base64url- and hex-encoded: through the real
 * checker and Node executor (local server on 127.0.0.1, see tests/checker/egressMock.ts) and
 * through the public chat with the offline model. No encoding of the secret may reach the checker
 * output, the log row, any table, the model's prompt or the chat reply.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { makeFunctionReference } from "convex/server";
import { api } from "../../convex/_generated/api";
import type { Prompt } from "../../convex/lib/offlineModel";
import schema from "../../convex/schema";
import { checkerT, admin, approvedSkill, invoke, logs, type CT, type Draft } from "../checker/helpers";
import { localServer, type Handler } from "../checker/localServer";
import { egress } from "../checker/egressMock";
import { member } from "../harness";
import { messages, session, thread, waitForReply } from "../chat/setup";
import { bytes, found } from "./encodings";

vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("../checker/egressMock")).wrap(await orig()));
const seen = vi.hoisted(() => [] as Prompt[]);
vi.mock("../../convex/lib/offlineModel", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../convex/lib/offlineModel")>();
  return {
    ...mod,
    offlineGenerate: (p: Prompt) => {
      seen.push(JSON.parse(JSON.stringify(p)));
      return mod.offlineGenerate(p);
    },
  };
});

/** Short enough (15 bytes) that no generic shape rule (≥ 40-char base64 run, ≥ 32-char hex run) catches its encodings. */
const canary = () => `cn${crypto.randomUUID().replace(/-/g, "").slice(0, 8)}>?~+x`;

/** Echoes the X-Api-Key header back in every encoding, alone and inside longer encoded data. */
const echoEncoded: Handler = (req, res) => {
  const key = String(req.headers["x-api-key"] ?? "");
  const body = JSON.stringify({
    b64: bytes(key).toString("base64"),
    b64NoPad: bytes(key).toString("base64").replace(/=+$/, ""),
    b64url: bytes(key).toString("base64url"),
    basic: `Basic ${bytes(`user:${key}`).toString("base64")}`,
    embedded: [1, 2, 3].map((n) => bytes(`${"p".repeat(n)}${key}tail`).toString("base64")),
    hex: bytes(key).toString("hex"),
    HEX: bytes(key).toString("hex").toUpperCase(),
    text: `token as hex: 0x${bytes(key).toString("hex")};`,
  });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
};

const hook: Draft = {
  name: "lookup",
  type: "webhook",
  config: {
    urlTemplate: "http://api.example.com/v1/{q}",
    method: "GET",
    secretHeaders: { "X-Api-Key": { secret: "API_KEY" } },
  },
  allowedDomains: ["api.example.com"],
  allowHttp: true,
  secretNames: ["API_KEY"],
  inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
};

let server: Awaited<ReturnType<typeof localServer>>;
beforeAll(async () => {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
  server = await localServer((req, res, s) => echoEncoded(req, res, s));
  egress.port = server.port;
});
afterAll(async () => {
  delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  seen.length = 0;
});
afterEach(() => vi.restoreAllMocks());

/** Lets anonymous visitors run the tool where the agency gate exists (agency/grants). */
async function allowForWebVisitors(t: CT, owner: Awaited<ReturnType<typeof member>>, toolRef: string) {
  if (!("toolGrants" in schema.tables)) return;
  const set = makeFunctionReference<"mutation">("agency/grants:set");
  await owner.as.mutation(set, { toolRef, audience: "webVisitor", policy: "allow", riskClass: "openWorld" });
}

/** Every table (secret tables excepted: ciphertext only) and the scheduler's arguments. */
async function dump(t: CT): Promise<Record<string, string>> {
  return await t.run(async (ctx) => {
    const out: Record<string, string> = {};
    for (const table of Object.keys(schema.tables)) {
      if (/Secrets$/.test(table)) continue;
      out[table] = JSON.stringify(await ctx.db.query(table as any).take(5000));
    }
    out._scheduled_functions = JSON.stringify(await ctx.db.system.query("_scheduled_functions").take(5000));
    return out;
  });
}

describe("an upstream echoing its secret base64- and hex-encoded", () => {
  test("through the checker: the output and the log row hold no encoding of it", async () => {
    const secret = canary();
    const t = checkerT();
    const a = await admin(t);
    const id = await approvedSkill(a, hook);
    await a.as.mutation(api.secrets.manage.setSkillSecret, { skillId: id, name: "API_KEY", value: secret });
    // an MCP client's call: the agency gate (agent audiences) is not what this test is about
    const r = await invoke(t, a, "lookup", { q: "x" }, { kind: "mcp-client", id: "encoded-echo" });
    expect(server.requests[0].headers["x-api-key"]).toBe(secret); // it really went out and came back
    expect(r.ok).toBe(true);
    expect(found(JSON.stringify(r), secret)).toEqual([]);
    expect(JSON.stringify(r)).toContain("[REDACTED]");
    const [row] = await logs(t);
    expect(row).toMatchObject({ targetName: "lookup", code: "OK", allowed: true });
    expect(found(JSON.stringify(row), secret)).toEqual([]);
    for (const [table, text] of Object.entries(await dump(t))) expect(found(text, secret), table).toEqual([]);
  });

  test("through the public chat: the reply, the model's prompt and every table hold no encoding of it", async () => {
    const secret = canary();
    const t = checkerT();
    const owner = await member(t as any, { workspace: "default", role: "owner" });
    const id = await approvedSkill(owner, hook);
    await owner.as.mutation(api.secrets.manage.setSkillSecret, { skillId: id, name: "API_KEY", value: secret });
    await owner.as.mutation(api.agent.config.update, { enabledSkillIds: [id] });
    await allowForWebVisitors(t, owner, "skill:lookup");

    const s = await session(t as any);
    const th = await thread(t as any, s);
    expect(
      (await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: '/skill lookup {"q":"x"}' })).ok,
    ).toBe(true);
    const reply = await waitForReply(t as any, s, th);
    expect(server.requests).toHaveLength(1);
    expect(reply.status).toBe("done");
    expect(reply.text).toContain("skill lookup → ok:");
    expect(reply.text).toContain("[REDACTED]");
    expect(found(JSON.stringify(await messages(t as any, s, th)), secret)).toEqual([]);
    expect(seen.some((p) => p.messages.some((m) => m.role === "tool"))).toBe(true);
    expect(found(JSON.stringify(seen), secret)).toEqual([]);
    for (const [table, text] of Object.entries(await dump(t))) expect(found(text, secret), table).toEqual([]);
  });
});
