import { describe, expect, test } from "vitest";
import http from "../convex/http";
import { newT, member } from "./harness";
import { hashPassword } from "../convex/lib/password";
import { verifyOwnerToken, OWNER_TOKEN_TTL_SECONDS } from "../convex/lib/ownerJwt";
import { SECURITY_HEADERS } from "../convex/lib/httpSecurity";
import { TEST_ENV } from "./env";

const json = { "Content-Type": "application/json" };

describe("HTTP basics", () => {
  test("/health is public and says only ok + version", async () => {
    const t = newT();
    const res = await t.fetch("/health");
    expect(res.status).toBe(200);
    expect(Object.keys(await res.json()).sort()).toEqual(["ok", "version"]);
  });

  test("security headers are present on every route (incl. errors and preflight)", async () => {
    const t = newT();
    const routes = http.getRoutes();
    expect(routes.length).toBeGreaterThan(4);
    for (const [path, method] of routes) {
      const res = await t.fetch(path, { method, body: method === "GET" || method === "OPTIONS" ? undefined : "{}" });
      if (path === "/mcp-app-sandbox" && method === "GET") {
        // The one framable page: its own CSP, no X-Frame-Options, the rest unchanged (tests/mcp/appSandbox.test.ts).
        expect(res.headers.get("Content-Security-Policy")).toMatch(
          /^default-src 'none'; script-src 'unsafe-inline';.*frame-ancestors https:\/\//,
        );
        expect(res.headers.get("X-Frame-Options")).toBeNull();
        for (const h of [
          "Strict-Transport-Security",
          "X-Content-Type-Options",
          "Referrer-Policy",
          "Cross-Origin-Resource-Policy",
        ]) {
          expect(res.headers.get(h), h).toBe(SECURITY_HEADERS[h]);
        }
        continue;
      }
      for (const h of Object.keys(SECURITY_HEADERS)) {
        expect(res.headers.get(h), `${method} ${path} ${h}`).toBe(SECURITY_HEADERS[h]);
      }
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      const text = await res.text();
      expect(text).not.toMatch(/at .*\.ts:\d+|Error:|stack/i);
    }
  });

  test("oversized body → 413 PAYLOAD_TOO_LARGE, before any handler work", async () => {
    const t = newT();
    const big = "x".repeat(1024 * 1024 + 1);
    const res = await t.fetch("/auth/signin", { method: "POST", headers: json, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "PAYLOAD_TOO_LARGE" });
    // only the refusal itself is recorded (abuse signal); no handler ran
    const events = await t.run((ctx) => ctx.db.query("securityEvents").take(5));
    expect(events.map((e) => e.code)).toEqual(["PAYLOAD_TOO_LARGE"]);
  });

  test("CORS only for configured origins", async () => {
    const t = newT();
    const good = await t.fetch("/health", { headers: { Origin: TEST_ENV.WARDEN_ALLOWED_ORIGINS } });
    expect(good.headers.get("Access-Control-Allow-Origin")).toBe(TEST_ENV.WARDEN_ALLOWED_ORIGINS);
    const bad = await t.fetch("/health", { headers: { Origin: "https://evil.example" } });
    expect(bad.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const pre = await t.fetch("/auth/signin", { method: "OPTIONS", headers: { Origin: "https://evil.example" } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  test("malformed JSON → 400 with a code, no stack", async () => {
    const t = newT();
    const res = await t.fetch("/auth/signin", { method: "POST", headers: json, body: "{nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "BAD_REQUEST" });
  });
});

describe("built-in sign-in", () => {
  test("success → ES256 JWT ≤ 15 min that verifies against the served JWKS; refresh works", async () => {
    const t = newT();
    const a = await member(t, { ownerKey: "alice", passwordHash: await hashPassword("correct horse battery") });
    const res = await t.fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "alice", password: "correct horse battery" }),
    });
    expect(res.status).toBe(200);
    const { token, expiresAt } = await res.json();
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(OWNER_TOKEN_TTL_SECONDS * 1000);
    const jwks = await (await t.fetch("/.well-known/jwks.json")).json();
    expect(JSON.stringify(jwks)).not.toContain('"d"');
    const claims = await verifyOwnerToken(token, { jwks, issuer: TEST_ENV.WARDEN_AUTH_ISSUER });
    expect(claims.sub).toBe(a.ownerId);
    expect(claims.wid).toBe(a.workspaceId);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);

    const r2 = await t.fetch("/auth/refresh", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    expect(r2.status).toBe(200);
    const bad = await t.fetch("/auth/refresh", { method: "POST", headers: { Authorization: `Bearer ${token}x` } });
    expect(bad.status).toBe(401);
  });

  test("wrong password, unknown account and inactive owner all get the same 401 and are logged", async () => {
    const t = newT();
    const hash = await hashPassword("right password!!");
    await member(t, { ownerKey: "bob", passwordHash: hash });
    await member(t, { ownerKey: "carol", passwordHash: hash, active: false });
    for (const body of [
      { ownerKey: "bob", password: "wrong password!!" },
      { ownerKey: "nobody", password: "right password!!" },
      { ownerKey: "carol", password: "right password!!" },
    ]) {
      const res = await t.fetch("/auth/signin", { method: "POST", headers: json, body: JSON.stringify(body) });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "SIGNIN_FAILED" });
    }
    const events = await t.run((ctx) => ctx.db.query("securityEvents").take(10));
    // one deployment-level event per attempt (copies go to the targeted person's workspaces)
    expect(events.filter((e) => e.code === "SIGNIN_FAILED" && e.workspaceId === undefined)).toHaveLength(3);
    expect(JSON.stringify(events)).not.toContain("right password");
  });

  test("failed sign-ins are rate limited per account (then 429 + Retry-After, even with the right password)", async () => {
    const t = newT();
    await member(t, { ownerKey: "dave", passwordHash: await hashPassword("dave's real password") });
    for (let i = 0; i < 5; i++) {
      const r = await t.withRequestMetadata({ ip: `10.0.0.${i}` }).fetch("/auth/signin", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ ownerKey: "dave", password: `guess-${i}-guess` }),
      });
      expect(r.status).toBe(401);
    }
    const blocked = await t.withRequestMetadata({ ip: "10.0.0.99" }).fetch("/auth/signin", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ownerKey: "dave", password: "dave's real password" }),
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  test("failed sign-ins are rate limited per IP across accounts", async () => {
    const t = newT();
    for (let i = 0; i < 20; i++) {
      // one connection rotating the headers it writes: still one source
      const r = await t.withRequestMetadata({ ip: "203.0.113.7" }).fetch("/auth/signin", {
        method: "POST",
        headers: { ...json, "X-Real-IP": `10.1.0.${i}`, "X-Forwarded-For": `10.2.0.${i}` },
        body: JSON.stringify({ ownerKey: `user${i}`, password: "x" }),
      });
      expect(r.status).toBe(401);
    }
    const r = await t.withRequestMetadata({ ip: "203.0.113.7" }).fetch("/auth/signin", {
      method: "POST",
      headers: { ...json, "X-Real-IP": "10.1.0.99" },
      body: JSON.stringify({ ownerKey: "someone-else", password: "x" }),
    });
    expect(r.status).toBe(429);
  }, 60_000);

  test("AUTH_MODE=clerk turns the built-in sign-in off with a clean 404", async () => {
    const t = newT();
    process.env.AUTH_MODE = "clerk";
    try {
      const r = await t.fetch("/auth/signin", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ ownerKey: "a", password: "b" }),
      });
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ error: "NOT_FOUND" });
    } finally {
      process.env.AUTH_MODE = TEST_ENV.AUTH_MODE;
    }
  });
});
