import { afterEach, describe, expect, test, vi } from "vitest";
import { TEST_ENV } from "../env";

async function loadConfig(env: Record<string, string | undefined>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  vi.resetModules();
  try {
    return (await import("../../convex/auth.config")).default as { providers: any[] };
  } finally {
    process.env = saved;
  }
}

afterEach(() => vi.resetModules());

describe("auth.config.ts follows AUTH_MODE (the dual-auth flag)", () => {
  test("builtin: only the customJwt ES256 issuer with our JWKS route", async () => {
    const c = await loadConfig({ AUTH_MODE: "builtin" });
    expect(c.providers).toEqual([
      {
        type: "customJwt",
        applicationID: "warden",
        issuer: TEST_ENV.WARDEN_AUTH_ISSUER,
        jwks: `${TEST_ENV.CONVEX_SITE_URL}/.well-known/jwks.json`,
        algorithm: "ES256",
      },
    ]);
  });
  test("clerk: only Clerk with application id convex", async () => {
    const c = await loadConfig({ AUTH_MODE: "clerk" });
    expect(c.providers).toEqual([{ domain: `https://${TEST_ENV.CLERK_JWT_ISSUER_DOMAIN}`, applicationID: "convex" }]);
  });
  test("both: Clerk and built-in (rollback = set it back)", async () => {
    const c = await loadConfig({ AUTH_MODE: "both" });
    expect(c.providers.map((p) => p.applicationID).sort()).toEqual(["convex", "warden"]);
  });
  test("unknown value fails closed to built-in only", async () => {
    const c = await loadConfig({ AUTH_MODE: "everything" });
    expect(c.providers.map((p) => p.applicationID)).toEqual(["warden"]);
  });
  test("clerk mode without an issuer domain configures no provider (nothing is accepted)", async () => {
    const c = await loadConfig({ AUTH_MODE: "clerk", CLERK_JWT_ISSUER_DOMAIN: undefined });
    expect(c.providers).toEqual([]);
  });
});
