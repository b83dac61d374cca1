// @vitest-environment node
/**
 * Connection reuse for upstream MCP calls (safeFetch `keepAlive`, used by the guarded fetch):
 * reuse happens, and every egress guarantee still holds on a warm pool — DNS vetted per request,
 * sockets keyed by the vetted address and by server + credential, failed requests never leave a
 * socket behind, idle sockets close, a tool call is never sent twice.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { newT, member, type T } from "../harness";
import { externalServer, defaultTools, sleep, type ExternalState, type External } from "./external";
import { egress } from "./egress";
import { KEEP_ALIVE_IDLE_MS, safeFetch } from "../../convex/lib/safeFetch.node";

vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egress")).wrap(await orig()));

const savedLoopback = process.env.WARDEN_TEST_ALLOW_LOOPBACK;
beforeAll(() => {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
});
afterAll(() => {
  if (savedLoopback === undefined) delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  else process.env.WARDEN_TEST_ALLOW_LOOPBACK = savedLoopback;
});

const open: Array<{ close: () => Promise<void> }> = [];
let hostN = 0;
beforeEach(() => {
  egress.address = "127.0.0.1";
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

type Owner = Awaited<ReturnType<typeof member>>;
type Setup = { t: T; owner: Owner; ext: External; state: ExternalState; serverId: Id<"mcpServers">; url: string };

async function setup(
  state: Partial<ExternalState> = {},
  opts: { timeoutMs?: number; maxOutputBytes?: number } = {},
): Promise<Setup> {
  const full: ExternalState = { mode: "json", tools: defaultTools(), ...state };
  const ext = await externalServer(full);
  open.push(ext);
  const host = `ka${++hostN}.mcp-test.com`;
  egress.ports.set(host, ext.port);
  const t = newT();
  const owner = await member(t, { role: "owner" });
  const url = `https://${host}/mcp`;
  const serverId = await owner.as.mutation(api.mcp.outbound.servers.register, { name: "ext", url, ...opts });
  await owner.as.mutation(api.mcp.outbound.servers.approve, { serverId });
  await t.finishAllScheduledFunctions(() => {});
  return { t, owner, ext, state: full, serverId, url };
}

function call(s: Pick<Setup, "t" | "owner">, serverId: Id<"mcpServers">, toolName: string, input: unknown) {
  return s.t.action(internal.security.checker.callMcpTool, {
    workspaceId: s.owner.workspaceId,
    serverId,
    toolName,
    input,
    caller: { kind: "test" },
  });
}

describe("reuse", () => {
  test("listing and five calls ride one connection (was three per call)", async () => {
    const s = await setup();
    for (let i = 0; i < 5; i++)
      expect(await call(s, s.serverId, "echo", { text: `n${i}` })).toMatchObject({ ok: true });
    expect(s.ext.calls()).toHaveLength(5);
    expect(s.ext.connections()).toBe(1);
    for (const r of s.ext.requests) expect(r.headers.connection).not.toBe("close");
  });

  test("idle sockets are closed by Warden after KEEP_ALIVE_IDLE_MS (before the server's own 5 s)", async () => {
    const s = await setup();
    expect(await call(s, s.serverId, "echo", { text: "x" })).toMatchObject({ ok: true });
    expect(s.ext.openSockets()).toBe(1);
    await sleep(KEEP_ALIVE_IDLE_MS + 800);
    expect(s.ext.openSockets()).toBe(0);
  }, 15_000);
});

describe("guarantees on a warm pool", () => {
  test("DNS is vetted on every request: a private answer is refused although a socket to the old address is idle", async () => {
    const s = await setup();
    expect(await call(s, s.serverId, "echo", { text: "warm" })).toMatchObject({ ok: true });
    const seen = s.ext.requests.length;
    egress.address = "10.0.0.7";
    expect(await call(s, s.serverId, "echo", { text: "x" })).toEqual({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    expect(s.ext.requests).toHaveLength(seen);
  });

  test("a new vetted address never rides a socket to the old one", async () => {
    const s = await setup();
    expect(await call(s, s.serverId, "echo", { text: "warm" })).toMatchObject({ ok: true });
    const seen = s.ext.requests.length;
    // Still loopback (vetted under the test override), but nothing listens on 127.0.0.2: a
    // socket to 127.0.0.1 reused for it would have answered.
    egress.address = "127.0.0.2";
    expect(await call(s, s.serverId, "echo", { text: "x" })).toEqual({ ok: false, code: "UPSTREAM_ERROR" });
    expect(s.ext.requests).toHaveLength(seen);
    egress.address = "127.0.0.1";
    expect(await call(s, s.serverId, "echo", { text: "back" })).toMatchObject({ ok: true });
  });

  test("two servers on one URL with different credentials, and one credential rotated, never share a socket", async () => {
    const s = await setup();
    const mk = async (name: string, key: string) => {
      const id = await s.owner.as.mutation(api.mcp.outbound.servers.register, {
        name,
        url: s.url,
        authHeaderName: "X-Api-Key",
      });
      await s.owner.as.mutation(api.secrets.manage.setMcpServerSecret, {
        serverId: id,
        name: "AUTH_HEADER",
        value: key,
      });
      await s.owner.as.mutation(api.mcp.outbound.servers.approve, { serverId: id });
      await s.t.finishAllScheduledFunctions(() => {});
      return id;
    };
    const a = await mk("alpha", "key-alpha-111111");
    const b = await mk("beta", "key-beta-2222222");
    for (let i = 0; i < 3; i++) {
      expect(await call(s, a, "echo", { text: "a" })).toMatchObject({ ok: true });
      expect(await call(s, b, "echo", { text: "b" })).toMatchObject({ ok: true });
    }
    await s.owner.as.mutation(api.secrets.manage.setMcpServerSecret, {
      serverId: a,
      name: "AUTH_HEADER",
      value: "key-alpha-rotated",
    });
    expect(await call(s, a, "echo", { text: "a2" })).toMatchObject({ ok: true });
    const keysPerConn = new Map<number, Set<string>>();
    for (const r of s.ext.requests) {
      const set = keysPerConn.get(r.conn) ?? new Set<string>();
      set.add(String(r.headers["x-api-key"] ?? "none"));
      keysPerConn.set(r.conn, set);
    }
    for (const keys of keysPerConn.values()) expect(keys.size).toBe(1);
    // still reused within each partition: unauthenticated "ext", alpha, beta, rotated alpha
    expect(s.ext.connections()).toBe(4);
  });

  test("a response cut at the byte cap leaves no socket behind: the next call connects anew", async () => {
    const s = await setup({}, { maxOutputBytes: 4096 });
    s.state.rawCall = (_req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        `{"jsonrpc":"2.0","id":${JSON.stringify(body.id)},"result":{"content":[{"type":"text","text":"${"z".repeat(20_000)}"}]}}`,
      );
    };
    expect(await call(s, s.serverId, "echo", { text: "big" })).toEqual({ ok: false, code: "OUTPUT_TOO_LARGE" });
    const cut = s.ext.calls()[0].conn;
    s.state.rawCall = undefined;
    expect(await call(s, s.serverId, "echo", { text: "small" })).toMatchObject({ ok: true });
    expect(s.ext.calls()[1].conn).not.toBe(cut);
  });

  test("a timed-out request leaves no socket behind (its late answer can never be read as the next one's)", async () => {
    const s = await setup({}, { timeoutMs: 1000 });
    s.state.tools.slow = {
      description: "Slow.",
      schema: {},
      run: async () => (await sleep(1800), { content: [{ type: "text", text: "LATE" }] }),
    };
    await s.t.action(internal.mcp.outbound.client.refreshTools, { serverId: s.serverId });
    const slow = (await s.owner.as.query(api.mcp.outbound.servers.get, { serverId: s.serverId })).tools.find(
      (x) => x.name === "slow",
    )!;
    await s.owner.as.mutation(api.mcp.outbound.servers.setToolStatus, { toolId: slow._id, status: "approved" });
    expect(await call(s, s.serverId, "slow", {})).toEqual({ ok: false, code: "TIMEOUT" });
    await sleep(1000); // the late answer is written now
    const r = await call(s, s.serverId, "echo", { text: "next" });
    expect(r).toEqual({ ok: true, output: { content: [{ type: "text", text: "echo: next" }] } });
    const calls = s.ext.calls();
    expect(calls[1].conn).not.toBe(calls[0].conn);
  }, 15_000);

  test("a tool call on a reused socket that dies is not sent again", async () => {
    const s = await setup();
    s.state.rawCall = (req) => req.socket.destroy();
    expect(await call(s, s.serverId, "echo", { text: "once" })).toEqual({ ok: false, code: "UPSTREAM_ERROR" });
    expect(s.ext.calls()).toHaveLength(1);
  });
});

describe("safeFetch keepAlive", () => {
  async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
    let n = 0;
    let conns = 0;
    const sockets = new Set<Socket>();
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => handler(req, res, ++n));
    });
    srv.on("connection", (sock) => {
      conns++;
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const handle = {
      port: (srv.address() as AddressInfo).port,
      conns: () => conns,
      close: async () => {
        for (const x of sockets) x.destroy();
        await new Promise<void>((r) => srv.close(() => r()));
      },
    };
    open.push(handle);
    return handle;
  }
  const host = "raw.mcp-test.com";
  const get = (retryStale: boolean) =>
    safeFetch(`https://${host}/x`, {
      method: "POST",
      body: "{}",
      allowlist: [host],
      keepAlive: { partition: "p", retryStale },
    });

  test("a repeatable request whose reused socket was already closed is sent once more on a new one", async () => {
    const srv = await rawServer((req, res, n) => {
      if (n === 2) return req.socket.destroy(); // the server dropped the kept-alive socket
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`r${n}`);
    });
    egress.ports.set(host, srv.port);
    expect(await get(true)).toMatchObject({ ok: true, body: "r1" });
    expect(await get(true)).toMatchObject({ ok: true, body: "r3" });
    expect(srv.conns()).toBe(2);
  });

  test("without retryStale the same failure is an error, and an invalid keepAlive is refused", async () => {
    const srv = await rawServer((req, res, n) => {
      if (n === 2) return req.socket.destroy();
      res.writeHead(200);
      res.end("ok");
    });
    egress.ports.set(host, srv.port);
    expect(await get(false)).toMatchObject({ ok: true });
    expect(await get(false)).toMatchObject({ ok: false, code: "UPSTREAM_ERROR" });
    expect(await safeFetch(`https://${host}/x`, { allowlist: [host], keepAlive: { partition: "" } })).toMatchObject({
      ok: false,
      code: "INPUT_INVALID",
    });
  });
});
