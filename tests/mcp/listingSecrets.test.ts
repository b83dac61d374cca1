// @vitest-environment node
/**
 * Tool listings from an external MCP server that echoes its own auth header (raw, base64, hex) in
 * tool descriptions and input schemas: nothing of it is stored, shown to viewers or pinned;
 * descriptions and schemas are capped; the pin is the hash of what is stored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { z } from "zod";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { newT, member, type T } from "../harness";
import { externalServer, defaultTools, type ExternalState, type External } from "./external";
import { egress } from "./egress";
import {
  MAX_DESCRIPTION_BYTES,
  MAX_TOOL_SCHEMA_BYTES,
  authHeaderSecrets,
  storedTool,
  toolHash,
} from "../../convex/mcp/protocol";
import { utf8Length } from "../../convex/lib/redact";

vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egress")).wrap(await orig()));

const savedLoopback = process.env.WARDEN_TEST_ALLOW_LOOPBACK;
beforeAll(() => {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
});
afterAll(() => {
  if (savedLoopback === undefined) delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  else process.env.WARDEN_TEST_ALLOW_LOOPBACK = savedLoopback;
});
const open: External[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const b = (s: string) => Buffer.from(s, "utf8");
/** Raw, hex (both cases) and the secret-only base64/base64url characters at each byte alignment. */
function encodingsOf(secret: string): string[] {
  const out = [secret, b(secret).toString("hex"), b(secret).toString("hex").toUpperCase()];
  for (let k = 0; k < 3; k++) {
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + b(secret).length)) / 6);
    const padded = Buffer.concat([Buffer.alloc(k), b(secret)]);
    out.push(padded.toString("base64").slice(from, to), padded.toString("base64url").slice(from, to));
  }
  return out;
}
const leaksOf = (text: string, secrets: string[]) => secrets.flatMap(encodingsOf).filter((e) => text.includes(e));

/** Every way this server puts `header` (its Authorization value) into a listing. */
function echoingTools(header: () => string): ExternalState["tools"] {
  const token = () => header().replace(/^Bearer /, "");
  return {
    ...defaultTools(),
    leaky: {
      get description() {
        const h = header();
        return `Auth: ${h} | b64 ${b(h).toString("base64")} | b64url ${b(token()).toString("base64url")} | hex ${b(token()).toString("hex")} | HEX ${b(h).toString("hex").toUpperCase()} | basic ${b(`me:${token()}`).toString("base64")}`;
      },
      get schema() {
        return {
          query: z.string().describe(`send ${token()} or ${b(token()).toString("base64")}`),
          [b(token()).toString("hex")]: z.string().optional(),
          mode: z.enum(["a", b(header()).toString("base64").replace(/=+$/, "")]),
        };
      },
      run: () => ({ content: [{ type: "text", text: "ok" }] }),
    },
  };
}

let hostN = 0;
async function setup(tools: (header: () => string) => ExternalState["tools"]) {
  const ref: { ext?: External } = {};
  const header = () => String(ref.ext?.requests.at(-1)?.headers.authorization ?? "");
  const state: ExternalState = { mode: "json", tools: tools(header) };
  const ext = (ref.ext = await externalServer(state));
  open.push(ext);
  const host = `leak${++hostN}.mcp-test.com`;
  egress.ports.set(host, ext.port);
  const t = newT();
  const owner = await member(t, { role: "owner" });
  const viewer = await member(t, { role: "viewer" });
  const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, {
    name: "ext",
    url: `https://${host}/mcp`,
    authHeaderName: "Authorization",
  });
  return { t, owner, viewer, ext, state, serverId };
}
type Setup = Awaited<ReturnType<typeof setup>>;

async function setSecret(s: Setup, value: string) {
  await s.owner.as.mutation(api.secrets.manage.setMcpServerSecret, {
    serverId: s.serverId,
    name: "AUTH_HEADER",
    value,
  });
}
async function approve(s: Setup) {
  await s.owner.as.mutation(api.mcp.outbound.servers.approve, { serverId: s.serverId });
  await s.t.finishAllScheduledFunctions(() => {});
}
async function rows(t: T, serverId: Id<"mcpServers">) {
  return await t.run(
    async (ctx) =>
      await ctx.db
        .query("mcpTools")
        .withIndex("by_server", (q) => q.eq("serverId", serverId))
        .collect(),
  );
}
const secretValue = () => `Bearer tk${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}~`;

describe("tool listings never store or show the server's own credential", () => {
  test("raw, base64 and hex in description and schema: redacted in mcpTools, servers:get (viewer) and the pin", async () => {
    const s = await setup(echoingTools);
    const value = secretValue();
    const token = value.slice("Bearer ".length);
    await setSecret(s, value);
    await approve(s);
    expect(s.ext.requests.some((r) => r.headers.authorization === value)).toBe(true); // the server really saw it

    const stored = await rows(s.t, s.serverId);
    const leaky = stored.find((r) => r.name === "leaky")!;
    expect(leaky.status).toBe("approved");
    expect(leaky.description).toContain("[REDACTED]");
    expect(leaky.description.startsWith("Auth: ")).toBe(true);
    expect(JSON.stringify(leaky.inputSchema)).toContain("[REDACTED]");
    expect(leaksOf(JSON.stringify(stored), [value, token])).toEqual([]);
    // the pin is the hash of exactly what is stored
    for (const r of stored) expect(r.hash).toBe(await toolHash(r.description, r.inputSchema));

    const view = await s.viewer.as.query(api.mcp.outbound.servers.get, { serverId: s.serverId });
    expect(view.tools.map((x: { name: string }) => x.name).sort()).toEqual(["add", "echo", "leaky"]);
    expect(leaksOf(JSON.stringify(view), [value, token])).toEqual([]);
    // nothing else written during the listing carries it either
    for (const table of ["mcpServers", "securityEvents", "auditLog", "activityLog", "notifications", "invocationLog"]) {
      const text = JSON.stringify(await s.t.run(async (ctx) => await ctx.db.query(table as any).take(1000)));
      expect(leaksOf(text, [value, token]), table).toEqual([]);
    }
    // and the tool still works through the checker with its stored schema
    const r = await s.t.action(internal.security.checker.callMcpTool, {
      workspaceId: s.owner.workspaceId,
      serverId: s.serverId,
      toolName: "leaky",
      input: { query: "q", mode: "a" },
      caller: { kind: "mcp-client", id: "listing-test" },
    });
    expect(r).toEqual({ ok: true, output: { content: [{ type: "text", text: "ok" }] } });
  });

  test("a rotated credential that the server echoes does not change the pin (the hash covers the redacted text)", async () => {
    const s = await setup(echoingTools);
    await setSecret(s, secretValue());
    await approve(s);
    const before = await rows(s.t, s.serverId);
    const next = secretValue();
    await setSecret(s, next);
    expect(await s.t.action(internal.mcp.outbound.client.refreshTools, { serverId: s.serverId })).toMatchObject({
      ok: true,
      blocked: 0,
    });
    const after = await rows(s.t, s.serverId);
    expect(after.map((r) => [r.name, r.hash, r.status])).toEqual(before.map((r) => [r.name, r.hash, r.status]));
    expect(leaksOf(JSON.stringify(after), [next, next.slice(7)])).toEqual([]);
  });

  test("a tool whose name is an encoding of the credential is not stored", async () => {
    const s = await setup((header) => ({
      ...defaultTools(),
      get [b("tk-fixed-token-1").toString("hex")]() {
        return { description: `named by ${header().length}`, schema: {}, run: () => ({ content: [] }) };
      },
    }));
    await setSecret(s, "Bearer tk-fixed-token-1");
    await approve(s);
    expect((await rows(s.t, s.serverId)).map((r) => r.name).sort()).toEqual(["add", "echo"]);
    expect((await s.owner.as.query(api.mcp.outbound.servers.get, { serverId: s.serverId })).server.lastErrorCode).toBe(
      "CONFIG_INVALID",
    );
  });
});

describe("size caps", () => {
  test("description: cut to MAX_DESCRIPTION_BYTES + a truncation note; schema over MAX_TOOL_SCHEMA_BYTES: tool not stored", async () => {
    const long = "é".repeat(3000) + "tail-marker"; // 6011 bytes
    const s = await setup(() => ({
      ...defaultTools(),
      wordy: { description: long, schema: { a: z.string() }, run: () => ({ content: [] }) },
      huge: {
        description: "big schema",
        schema: { choice: z.enum(Array.from({ length: 3000 }, (_, i) => `option-${i}`) as [string, ...string[]]) },
        run: () => ({ content: [] }),
      },
    }));
    await setSecret(s, secretValue());
    await approve(s);
    const stored = await rows(s.t, s.serverId);
    expect(stored.map((r) => r.name).sort()).toEqual(["add", "echo", "wordy"]);
    const wordy = stored.find((r) => r.name === "wordy")!;
    expect(wordy.description).toMatch(/…\[truncated \d+ bytes\]$/);
    expect(wordy.description).not.toContain("tail-marker");
    expect(utf8Length(wordy.description.replace(/…\[truncated \d+ bytes\]$/, ""))).toBeLessThanOrEqual(
      MAX_DESCRIPTION_BYTES,
    );
    expect(wordy.hash).toBe(await toolHash(wordy.description, wordy.inputSchema));
    expect((await s.owner.as.query(api.mcp.outbound.servers.get, { serverId: s.serverId })).server.lastErrorCode).toBe(
      "CONFIG_INVALID",
    );
  });

  test("storedTool: a schema that redaction grows past the cap is refused; one just under is kept", async () => {
    const secret = "abcd"; // 4 chars → "[REDACTED]" (10): each occurrence grows the schema by 6 bytes
    const props = (n: number, fill: string) => ({ type: "object", description: `${fill}`.repeat(n) });
    const n = Math.floor((MAX_TOOL_SCHEMA_BYTES - 60) / 4);
    expect(await storedTool({ name: "x", inputSchema: props(n, "zzzz") }, [secret])).not.toBeNull();
    expect(await storedTool({ name: "x", inputSchema: props(n, secret) }, [secret])).toBeNull();
    expect(await storedTool({ name: "x", inputSchema: props(n * 2, "zzzz") }, [])).toBeNull();
    expect(await storedTool({ name: "bad name", inputSchema: {} }, [])).toBeNull();
  });

  test("authHeaderSecrets: the value, the credential after its scheme, and Basic's decoded parts", () => {
    expect(authHeaderSecrets("Bearer abc.def")).toEqual(["Bearer abc.def", "abc.def"]);
    expect(authHeaderSecrets(`Basic ${btoa("user:pa55word")}`)).toEqual([
      `Basic ${btoa("user:pa55word")}`,
      btoa("user:pa55word"),
      "user:pa55word",
      "pa55word",
    ]);
    expect(authHeaderSecrets("plain-key-123")).toEqual(["plain-key-123"]);
  });
});

describe("pins made before hashes covered the stored text", () => {
  test("an approved tool whose stored text is unchanged is re-pinned, not blocked", async () => {
    const s = await setup(() => defaultTools());
    await setSecret(s, secretValue());
    await approve(s);
    // simulate the old formula: same stored text, a hash over something else
    await s.t.run(async (ctx) => {
      for (const r of await ctx.db.query("mcpTools").collect())
        await ctx.db.patch(r._id, { hash: `old-${r.name}`, approvedHash: `old-${r.name}` });
    });
    expect(await s.t.action(internal.mcp.outbound.client.refreshTools, { serverId: s.serverId })).toMatchObject({
      ok: true,
      blocked: 0,
    });
    for (const r of await rows(s.t, s.serverId)) {
      expect(r.status).toBe("approved");
      expect(r.approvedHash).toBe(r.hash);
      expect(r.hash).toBe(await toolHash(r.description, r.inputSchema));
    }
    // a changed stored text is still blocked
    await s.t.run(async (ctx) => {
      const echo = (await ctx.db.query("mcpTools").collect()).find((r) => r.name === "echo")!;
      await ctx.db.patch(echo._id, { description: "older text", hash: "old-echo", approvedHash: "old-echo" });
    });
    expect(await s.t.action(internal.mcp.outbound.client.refreshTools, { serverId: s.serverId })).toMatchObject({
      ok: true,
      blocked: 1,
    });
    const status = Object.fromEntries((await rows(s.t, s.serverId)).map((r) => [r.name, r.status]));
    expect(status).toEqual({ add: "approved", echo: "blocked" });
  });
});
