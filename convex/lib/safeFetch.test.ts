// @vitest-environment node
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { safeFetch, type Resolver } from "./safeFetch.node";

const HOST = "api.example.com";
const ALLOW = [HOST];

type TestServer = { port: number; requests: http.IncomingMessage[]; close: () => Promise<void> };

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A resolver that maps every name to the given addresses and counts its calls. */
function resolverTo(...addresses: string[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = (async (hostname: string) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  }) as Resolver & { calls: string[] };
  fn.calls = calls;
  return fn;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms = 3000) {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await sleep(10);
  return cond();
}

const servers: TestServer[] = [];
async function server(handler: http.RequestListener) {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}

const savedEnv = process.env.WARDEN_TEST_ALLOW_LOOPBACK;
beforeEach(() => {
  delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
});
afterEach(async () => {
  if (savedEnv === undefined) delete process.env.WARDEN_TEST_ALLOW_LOOPBACK;
  else process.env.WARDEN_TEST_ALLOW_LOOPBACK = savedEnv;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function override() {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
}

const json =
  (body: unknown, status = 200): http.RequestListener =>
  (_req, res) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

describe("loopback is blocked by default", () => {
  test("IP literal and localhost URLs are blocked even when allowlisted", async () => {
    const s = await server(json({ secret: true }));
    for (const url of [
      `http://127.0.0.1:${s.port}/`,
      `http://localhost:${s.port}/`,
      `http://[::1]:${s.port}/`,
      `http://2130706433:${s.port}/`,
    ]) {
      const r = await safeFetch(url, { allowlist: ["localhost", "127.0.0.1", HOST], allowHttp: true });
      expect(r, url).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    }
    // Even with the test override: IP literals and localhost are never fetchable.
    override();
    const r = await safeFetch(`http://127.0.0.1:${s.port}/`, {
      allowlist: ["127.0.0.1"],
      allowHttp: true,
      testOnlyAllowLoopback: true,
    });
    expect(r).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    expect(s.requests).toHaveLength(0);
  });

  test("an allowlisted name resolving to loopback is blocked without the override", async () => {
    const lookup = resolverTo("127.0.0.1");
    const r = await safeFetch(`http://${HOST}/`, { allowlist: ALLOW, allowHttp: true, lookup });
    expect(r).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    expect(lookup.calls).toEqual([HOST]);
  });

  test("the flag alone or the env var alone does not enable loopback", async () => {
    const flagOnly = await safeFetch(`http://${HOST}/`, {
      allowlist: ALLOW,
      allowHttp: true,
      testOnlyAllowLoopback: true,
      lookup: resolverTo("127.0.0.1"),
    });
    expect(flagOnly).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    override();
    const envOnly = await safeFetch(`http://${HOST}/`, {
      allowlist: ALLOW,
      allowHttp: true,
      lookup: resolverTo("127.0.0.1"),
    });
    expect(envOnly).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    process.env.WARDEN_TEST_ALLOW_LOOPBACK = "true";
    const wrongValue = await safeFetch(`http://${HOST}/`, {
      allowlist: ALLOW,
      allowHttp: true,
      testOnlyAllowLoopback: true,
      lookup: resolverTo("127.0.0.1"),
    });
    expect(wrongValue).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
  });

  test("without the override a non-default port is refused before any resolution", async () => {
    const lookup = resolverTo("93.184.216.34");
    const r = await safeFetch(`https://${HOST}:8443/`, { allowlist: ALLOW, lookup });
    expect(r).toMatchObject({ ok: false, code: "PORT_NOT_ALLOWED" });
    expect(lookup.calls).toHaveLength(0);
  });

  test("the override admits loopback only, never private or metadata addresses", async () => {
    override();
    for (const addr of [
      "10.0.0.5",
      "169.254.169.254",
      "192.168.1.1",
      "::ffff:127.0.0.1",
      "fd00:ec2::254",
      "0.0.0.0",
      "fe80::1",
    ]) {
      const r = await safeFetch(`http://${HOST}:8080/`, {
        allowlist: ALLOW,
        allowHttp: true,
        testOnlyAllowLoopback: true,
        lookup: resolverTo(addr),
      });
      expect(r, addr).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    }
  });
});

describe("with the test override", () => {
  beforeEach(override);
  const base = (extra: Partial<Parameters<typeof safeFetch>[1]> = {}) => ({
    allowlist: ALLOW,
    allowHttp: true,
    testOnlyAllowLoopback: true,
    lookup: resolverTo("127.0.0.1"),
    ...extra,
  });

  test("a normal 200 JSON response works and goes to the pinned address with the right Host", async () => {
    const s = await server(json({ hello: "world" }));
    const r = await safeFetch(`http://${HOST}:${s.port}/v1/x?q=1#frag`, base());
    expect(r).toMatchObject({ ok: true, status: 200, body: '{"hello":"world"}', bytes: 17 });
    if (r.ok) {
      expect(JSON.parse(r.body)).toEqual({ hello: "world" });
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0].url).toBe("/v1/x?q=1");
    expect(s.requests[0].headers.host).toBe(`${HOST}:${s.port}`);
    expect(s.requests[0].headers["accept-encoding"]).toBe("identity");
  });

  test("POST sends method, body and caller headers; Host and framing headers cannot be overridden", async () => {
    let received = "";
    const s = await server((req, res) => {
      req.setEncoding("utf8");
      req.on("data", (c) => (received += c));
      req.on("end", () => json({ ok: 1 })(req, res));
    });
    const r = await safeFetch(
      `http://${HOST}:${s.port}/hook`,
      base({
        method: "post",
        body: '{"a":"é"}',
        headers: {
          "Content-Type": "application/json",
          "X-Api-Key": "k",
          Host: "internal.admin",
          "Transfer-Encoding": "chunked",
          "Accept-Encoding": "gzip",
        },
      }),
    );
    expect(r).toMatchObject({ ok: true, status: 200 });
    const req = s.requests[0];
    expect(req.method).toBe("POST");
    expect(received).toBe('{"a":"é"}');
    expect(req.headers["x-api-key"]).toBe("k");
    expect(req.headers.host).toBe(`${HOST}:${s.port}`);
    expect(req.headers["transfer-encoding"]).toBeUndefined();
    expect(req.headers["content-length"]).toBe(String(Buffer.byteLength('{"a":"é"}')));
    expect(req.headers["accept-encoding"]).toBe("identity");
  });

  test("non-2xx responses are returned as results, not errors", async () => {
    const s = await server(json({ error: "nope" }, 404));
    const r = await safeFetch(`http://${HOST}:${s.port}/`, base());
    expect(r).toMatchObject({ ok: true, status: 404 });
  });

  test.each([301, 302, 303, 307, 308])(
    "a %i redirect → REDIRECT_BLOCKED and the target gets nothing",
    async (status) => {
      const target = await server(json({ reached: true }));
      const s = await server((_req, res) => {
        res.writeHead(status, { location: `http://${HOST}:${target.port}/landing` });
        res.end();
      });
      const r = await safeFetch(`http://${HOST}:${s.port}/start`, base());
      expect(r).toMatchObject({ ok: false, code: "REDIRECT_BLOCKED" });
      await sleep(100);
      expect(s.requests).toHaveLength(1);
      expect(target.requests).toHaveLength(0);
    },
  );

  test("a slow server → TIMEOUT well under a second, socket destroyed", async () => {
    let serverSawClose = false;
    const s = await server((req, res) => {
      const t = setTimeout(() => json({ late: true })(req, res), 2000);
      res.on("close", () => {
        serverSawClose = true;
        clearTimeout(t);
      });
    });
    const t0 = performance.now();
    const r = await safeFetch(`http://${HOST}:${s.port}/slow`, base({ timeoutMs: 200 }));
    const took = performance.now() - t0;
    expect(r).toMatchObject({ ok: false, code: "TIMEOUT" });
    expect(took).toBeLessThan(1000);
    expect(took).toBeGreaterThanOrEqual(190);
    if (!r.ok) expect(r.durationMs).toBeLessThan(1000);
    expect(await waitFor(() => serverSawClose, 1500)).toBe(true);
  });

  test("a resolver that never answers → TIMEOUT", async () => {
    const t0 = performance.now();
    const r = await safeFetch(`http://${HOST}:1/`, base({ timeoutMs: 150, lookup: () => new Promise(() => {}) }));
    expect(r).toMatchObject({ ok: false, code: "TIMEOUT" });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("a server streaming 1 MB slowly is cut off past maxBytes (client aborts early)", async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const total = 1024 * 1024;
    let written = 0;
    let finished = false;
    let closedEarly = false;
    const s = await server((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" }); // chunked, no content-length
      res.on("close", () => {
        if (!finished) closedEarly = true;
      });
      const tick = () => {
        if (res.destroyed || written >= total) {
          if (written >= total && !res.destroyed) {
            finished = true;
            res.end();
          }
          return;
        }
        res.write(chunk);
        written += chunk.length;
        setTimeout(tick, 10);
      };
      tick();
    });
    const r = await safeFetch(`http://${HOST}:${s.port}/big`, base({ maxBytes: 50 * 1024 }));
    expect(r).toMatchObject({ ok: false, code: "OUTPUT_TOO_LARGE" });
    expect(await waitFor(() => closedEarly, 3000)).toBe(true);
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total / 2);
  });

  test("Content-Length above the cap → OUTPUT_TOO_LARGE before the body is read", async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
      res.write("x"); // and then stall
    });
    const t0 = performance.now();
    const r = await safeFetch(`http://${HOST}:${s.port}/`, base({ maxBytes: 1024 }));
    expect(r).toMatchObject({ ok: false, code: "OUTPUT_TOO_LARGE" });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("exactly maxBytes passes, one more byte fails (with and without content-length)", async () => {
    const body = "y".repeat(1000);
    const withLen = await server((_req, res) => {
      res.writeHead(200, { "content-length": String(body.length) });
      res.end(body);
    });
    const chunked = await server((_req, res) => {
      res.writeHead(200);
      res.write(body.slice(0, 500));
      res.end(body.slice(500));
    });
    for (const s of [withLen, chunked]) {
      expect(await safeFetch(`http://${HOST}:${s.port}/`, base({ maxBytes: 1000 }))).toMatchObject({
        ok: true,
        bytes: 1000,
      });
      expect(await safeFetch(`http://${HOST}:${s.port}/`, base({ maxBytes: 999 }))).toMatchObject({
        ok: false,
        code: "OUTPUT_TOO_LARGE",
      });
    }
  });

  test("default cap is 50 KiB", async () => {
    const s = await server((_req, res) => {
      res.writeHead(200);
      res.end("z".repeat(50 * 1024 + 1));
    });
    expect(await safeFetch(`http://${HOST}:${s.port}/`, base())).toMatchObject({ ok: false, code: "OUTPUT_TOO_LARGE" });
  });

  test("DNS rebinding: the address is resolved once and pinned for the connection", async () => {
    const s = await server(json({ pinned: true }));
    const calls: string[] = [];
    // First answer vetted (loopback under the override), every later answer private.
    const lookup: Resolver = async (h) => {
      calls.push(h);
      return [{ address: calls.length === 1 ? "127.0.0.1" : "10.0.0.1", family: 4 }];
    };
    const r = await safeFetch(`http://${HOST}:${s.port}/`, base({ lookup }));
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(calls).toEqual([HOST]);
    expect(s.requests).toHaveLength(1);
  });

  test.each([[["10.0.0.1"]], [["169.254.169.254"]], [["127.0.0.1", "10.0.0.1"]], [["10.0.0.1", "127.0.0.1"]]])(
    "a name resolving to %j is blocked",
    async (addrs) => {
      const s = await server(json({ reached: true }));
      const r = await safeFetch(`http://${HOST}:${s.port}/`, base({ lookup: resolverTo(...addrs) }));
      expect(r).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
      expect(s.requests).toHaveLength(0);
    },
  );

  test("connection refused → UPSTREAM_ERROR with a code only", async () => {
    const s = await server(json({}));
    const port = s.port;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const r = await safeFetch(`http://${HOST}:${port}/`, base());
    expect(r).toMatchObject({ ok: false, code: "UPSTREAM_ERROR" });
    expect(Object.keys(r).sort()).toEqual(["code", "durationMs", "ok"]);
  });

  test("server hangs up mid-body → UPSTREAM_ERROR", async () => {
    const s = await server((req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => req.socket.destroy(), 20);
    });
    expect(await safeFetch(`http://${HOST}:${s.port}/`, base())).toMatchObject({ ok: false, code: "UPSTREAM_ERROR" });
  });

  test("HTTPS: connects to the pinned address with SNI = host and refuses an unverified peer", async () => {
    let sni: string | undefined;
    const tlsServer = tls.createServer({
      SNICallback: (name, cb) => {
        sni = name;
        cb(new Error("no certificate"), undefined);
      },
    });
    tlsServer.on("tlsClientError", () => {});
    await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
    try {
      const port = (tlsServer.address() as net.AddressInfo).port;
      const r = await safeFetch(`https://${HOST}:${port}/`, base({ allowHttp: false }));
      expect(r).toMatchObject({ ok: false, code: "UPSTREAM_ERROR" });
      expect(sni).toBe(HOST);
    } finally {
      await new Promise<void>((r) => tlsServer.close(() => r()));
    }
  });
});

describe("resolver failures and caller input", () => {
  test("resolver error or empty answer → UPSTREAM_ERROR", async () => {
    const boom: Resolver = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND api.example.com"), { code: "ENOTFOUND" });
    };
    expect(await safeFetch(`https://${HOST}/`, { allowlist: ALLOW, lookup: boom })).toMatchObject({
      ok: false,
      code: "UPSTREAM_ERROR",
    });
    expect(await safeFetch(`https://${HOST}/`, { allowlist: ALLOW, lookup: async () => [] })).toMatchObject({
      ok: false,
      code: "UPSTREAM_ERROR",
    });
  });

  test("a public + private answer is blocked before connecting (order does not matter)", async () => {
    for (const addrs of [
      ["93.184.216.34", "10.0.0.1"],
      ["10.0.0.1", "93.184.216.34"],
      ["2606:4700::1111", "::1"],
    ]) {
      const r = await safeFetch(`https://${HOST}/`, { allowlist: ALLOW, lookup: resolverTo(...addrs), timeoutMs: 500 });
      expect(r, addrs.join(",")).toMatchObject({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
    }
  });

  test("egress URL checks run first and skip resolution", async () => {
    const lookup = resolverTo("93.184.216.34");
    const cases: Array<[string, string]> = [
      ["https://evil.com/", "DOMAIN_NOT_ALLOWED"],
      [`http://${HOST}/`, "SCHEME_NOT_ALLOWED"],
      [`https://u:p@${HOST}/`, "USERINFO_NOT_ALLOWED"],
      ["https://169.254.169.254/latest/meta-data/", "PRIVATE_ADDRESS_BLOCKED"],
      ["::", "URL_INVALID"],
    ];
    for (const [url, code] of cases) {
      expect(await safeFetch(url, { allowlist: [...ALLOW, "evil.org"], lookup }), url).toMatchObject({
        ok: false,
        code,
      });
    }
    expect(lookup.calls).toHaveLength(0);
  });

  test.each([
    [{ method: "TRACE" }],
    [{ method: "CONNECT" }],
    [{ headers: { "X-Bad": "a\r\nInjected: 1" } }],
    [{ headers: { "Bad Name": "x" } }],
    [{ headers: { "X-Num": 1 as unknown as string } }],
    [{ timeoutMs: 0 }],
    [{ timeoutMs: Infinity }],
    [{ timeoutMs: 10 * 60_000 }],
    [{ maxBytes: -1 }],
    [{ maxBytes: 1.5 }],
    [{ body: "x".repeat(1024 * 1024 + 1) }],
  ])("caller input %j → INPUT_INVALID", async (extra) => {
    const lookup = resolverTo("93.184.216.34");
    const r = await safeFetch(`https://${HOST}/`, { allowlist: ALLOW, lookup, ...(extra as object) });
    expect(r).toMatchObject({ ok: false, code: "INPUT_INVALID" });
    expect(lookup.calls).toHaveLength(0);
  });
});

describe("the loopback override stays in tests", () => {
  test("no non-test source file sets testOnlyAllowLoopback or WARDEN_TEST_ALLOW_LOOPBACK", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const offenders: string[] = [];
    const walk = (dir: string, depth: number) => {
      if (depth > 8) return;
      for (const name of readdirSync(dir)) {
        if (name === "node_modules" || name === "_generated" || name.startsWith(".")) continue;
        const full = join(dir, name);
        const st = statSync(full);
        if (st.isDirectory()) walk(full, depth + 1);
        else if (/\.(ts|tsx|js|mjs|cjs)$/.test(name) && !/\.test\.(ts|tsx|js|mjs)$/.test(name)) {
          const rel = relative(root, full);
          if (rel === join("convex", "lib", "safeFetch.node.ts")) continue;
          const text = readFileSync(full, "utf8");
          if (/testOnlyAllowLoopback|WARDEN_TEST_ALLOW_LOOPBACK/.test(text)) offenders.push(rel);
        }
      }
    };
    for (const dir of ["convex", "runtime", "src", "scripts"]) {
      try {
        walk(join(root, dir), 0);
      } catch {
        // folder may not exist yet
      }
    }
    expect(offenders).toEqual([]);
  });
});
