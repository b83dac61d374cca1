// @vitest-environment node
// The built SyncBoard carries no secret: `vite build` runs with every test env var (and extra
// secret-looking canaries) in its environment, then every emitted file is searched for each value.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { TEST_ENV } from "../env";
import { OWNERS, buildUi } from "./harness";
import { clerkOrigin, metaCsp } from "../../vite.config";

/** Secret-looking values that must never reach a browser (present in the build's environment). */
const CANARIES = {
  OPENAI_API_KEY: "sk-canary-openai-0f9e8d7c6b5a4f3e2d1c",
  ANTHROPIC_API_KEY: "sk-ant-canary-1a2b3c4d5e6f7a8b9c0d",
  WARDEN_OWNERS_JSON: '{"owners":[{"ownerKey":"canary","passwordHash":"pbkdf2_sha256$600000$canarysalt$canaryhash"}]}',
  TWILIO_AUTH_TOKEN: "canary-twilio-token-5566778899",
};
/** Values the browser tests type into SyncBoard (they must live only in the database, encrypted). */
const TYPED_SECRETS = [
  "sk-live-SUPERSECRET-9876",
  "tg-webhook-secret-7788",
  "sk-e2e-fake-model-key-4242424242",
  "a-long-enough-password-nina",
  ...OWNERS.map((o) => o.password),
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Every value to look for, plus the parts of structured ones (the JWK's private scalar, the raw key). */
export function needles(): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries({ ...TEST_ENV, ...CANARIES })) {
    // AUTH_MODE's value ("builtin") is a mode name the UI itself knows, not a secret.
    if (k === "AUTH_MODE") continue;
    out.add(v);
  }
  const jwk = JSON.parse(TEST_ENV.WARDEN_AUTH_PRIVATE_JWK) as Record<string, string>;
  out.add(jwk.d);
  out.add(Buffer.from(TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY, "base64").toString("latin1"));
  for (const s of TYPED_SECRETS) out.add(s);
  return [...out].filter((s) => s.length >= 8);
}

export function leaks(text: string, values: string[]): string[] {
  return values.filter((v) => text.includes(v) || text.includes(JSON.stringify(v).slice(1, -1)));
}

describe("built SyncBoard", () => {
  let dir: string;
  let all: { path: string; text: string }[];

  beforeAll(() => {
    dir = buildUi({ ...process.env, ...TEST_ENV, ...CANARIES });
    all = files(dir).map((p) => ({ path: p.slice(dir.length + 1), text: readFileSync(p, "latin1") }));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the leak detector finds a planted value (control)", () => {
    const values = needles();
    expect(values.length).toBeGreaterThan(8);
    expect(leaks(`var k="${TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY}"`, values)).toEqual([
      TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY,
    ]);
    expect(leaks(`{"d":"${JSON.parse(TEST_ENV.WARDEN_AUTH_PRIVATE_JWK).d}"}`, values).length).toBeGreaterThan(0);
  });

  it("contains no env var value, canary or typed secret in any emitted file", () => {
    expect(all.length).toBeGreaterThan(3);
    const found = all.flatMap((f) => leaks(f.text, needles()).map((v) => `${f.path}: ${v.slice(0, 12)}…`));
    expect(found).toEqual([]);
  });

  it("emits no source maps and no inline script; index.html carries a strict CSP meta", () => {
    expect(all.filter((f) => f.path.endsWith(".map"))).toEqual([]);
    const html = all.find((f) => f.path === "index.html")!.text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\//);
      expect(body.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
  });
});

describe("CSP meta builder", () => {
  it("pins connect-src to the Convex URLs known at build time", () => {
    const csp = metaCsp({ VITE_CONVEX_URL: "https://happy-otter-123.convex.cloud" });
    expect(csp).toContain(
      "connect-src 'self' https://happy-otter-123.convex.cloud wss://happy-otter-123.convex.cloud https://happy-otter-123.convex.site",
    );
    expect(csp).not.toContain("http:");
  });

  it("allows exactly the Clerk Frontend API encoded in the publishable key", () => {
    const key = `pk_test_${Buffer.from("clerk.example.com$").toString("base64")}`;
    expect(clerkOrigin(key)).toBe("https://clerk.example.com");
    expect(metaCsp({ VITE_CLERK_PUBLISHABLE_KEY: key })).toContain("script-src 'self' https://clerk.example.com");
    expect(clerkOrigin("pk_test_" + Buffer.from("evil.com/x?$").toString("base64"))).toBeNull();
    expect(clerkOrigin("sk_test_abc")).toBeNull();
    // Frames: only the site origin's MCP App sandbox (+ Clerk); unknown backend → the runtime's header pins it.
    expect(metaCsp({ VITE_CONVEX_URL: "https://happy-otter-123.convex.cloud" })).toContain(
      "; frame-src https://happy-otter-123.convex.site;",
    );
    expect(metaCsp({})).toContain("; frame-src http: https:;");
  });
});
