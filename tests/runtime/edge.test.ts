// @vitest-environment node
// The embedded runtime at the edge: the client IP comes from the socket (never from headers the
// client wrote), and every site answer, routed or not, carries the security headers and { error }.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import { REPO, tempDir } from "./helpers.js";
import { SECURITY_HEADERS } from "../../convex/lib/httpSecurity";

const dataDir = tempDir();
let rt: Runtime;
beforeAll(async () => {
  rt = await startRuntime({
    convexDir: join(REPO, "convex"),
    dataDir,
    port: 0,
    sitePort: 0,
    quiet: true,
    ownEnv: true,
  });
}, 60_000);
afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function mintAll(n: number, headers: (i: number) => Record<string, string>) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++)
    statuses.push((await fetch(`${rt.siteUrl}/chat/session`, { method: "POST", headers: headers(i) })).status);
  return statuses;
}

describe("client IP in the embedded runtime", () => {
  test("rotating X-Forwarded-For / X-Real-IP from one socket mints no more than the per-IP limit (20/min)", async () => {
    const statuses = await mintAll(30, (i) => ({ "X-Forwarded-For": `198.51.100.${i}`, "X-Real-IP": `192.0.2.${i}` }));
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
  });

  test("WARDEN_TRUSTED_PROXIES names the proxy: then the address it appended is the client", async () => {
    process.env.WARDEN_TRUSTED_PROXIES = "127.0.0.1/32, ::1/128";
    try {
      // Two clients behind the "proxy" (this socket) get separate buckets; forged entries on the left are ignored.
      const a = await mintAll(21, (i) => ({ "X-Forwarded-For": `10.9.${i}.1, 203.0.113.10` }));
      expect(a.filter((s) => s === 201)).toHaveLength(20);
      expect(a[20]).toBe(429);
      const b = await mintAll(1, () => ({ "X-Forwarded-For": "203.0.113.11" }));
      expect(b).toEqual([201]);
    } finally {
      delete process.env.WARDEN_TRUSTED_PROXIES;
    }
  });
});

describe("unrouted answers from the runtime", () => {
  test("GET /no-such-route, PUT /health, POST /x: JSON { error } with every security header", async () => {
    for (const [method, path, status, code] of [
      ["GET", "/no-such-route", 404, "NOT_FOUND"],
      ["POST", "/x/y", 404, "NOT_FOUND"],
      ["PUT", "/health", 405, "METHOD_NOT_ALLOWED"],
    ] as const) {
      const res = await fetch(`${rt.siteUrl}${path}`, { method, body: method === "GET" ? undefined : "{}" });
      expect(res.status, `${method} ${path}`).toBe(status);
      // The app's own answers keep `{ error }`; the runtime adds the request id as a header.
      expect(await res.json()).toEqual({ error: code });
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f]{16}$/);
      for (const [h, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(h), h).toBe(v);
    }
  });
});
