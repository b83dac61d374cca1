// @vitest-environment node
// Every 32-byte value written in this repository is public: the guard refuses all of them (by
// fingerprint), and outside a test run the first use of such a key fails, with no step to skip.
import { afterEach, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { api } from "../../convex/_generated/api";
import { assertSecretsConfigured, SecretsNotConfiguredError } from "../../convex/secrets/guard";
import { encodeBase64, keyGuardEnforced, parseKey, usableKeyRing } from "../../convex/lib/secretbox";
import { isKnownKey, KNOWN_KEY_FINGERPRINTS } from "../../convex/lib/knownKeys";
import { keysIn, scanRepo } from "../../scripts/known-keys";
import { TEST_ENV } from "../env";
import { expectCode, member, newT } from "../harness";
import { makeSkill, randomKey, resetKeys, setKeys } from "./fixtures";

const REPO = join(__dirname, "..", "..");
const TEST_KEY = TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY;

afterEach(() => {
  resetKeys();
  process.env.WARDEN_ENV = TEST_ENV.WARDEN_ENV;
});

function refused(key: string): boolean {
  try {
    assertSecretsConfigured({ SKILL_SECRET_ENCRYPTION_KEY: key });
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(SecretsNotConfiguredError);
    expect((e as Error).message).not.toContain(key);
    return true;
  }
}

describe("keys written in the repository", () => {
  test("every key-like value in the repository is on the known-key list (run `npx tsx scripts/known-keys.ts`)", () => {
    const found = scanRepo(REPO);
    expect(found.some((f) => f.file === "tests/env.ts")).toBe(true);
    const known = new Set(KNOWN_KEY_FINGERPRINTS);
    expect(found.filter((f) => !known.has(f.fingerprint))).toEqual([]);
  });

  test("the list holds fingerprints only, no key material", () => {
    const src = readFileSync(join(REPO, "convex", "lib", "knownKeys.ts"), "utf8");
    expect(keysIn(src)).toEqual([]);
    expect(src).not.toContain(TEST_KEY);
  });

  test("the guard refuses the test key in every encoding, and the test JWK's private scalar", () => {
    const bytes = parseKey(TEST_KEY);
    expect(isKnownKey(bytes)).toBe(true);
    const hex = Buffer.from(bytes).toString("hex");
    for (const k of [
      TEST_KEY,
      hex,
      hex.toUpperCase(),
      encodeBase64(bytes, "url", false),
      encodeBase64(bytes, "std", false),
    ]) {
      expect(refused(k), k).toBe(true);
    }
    expect(refused(JSON.parse(TEST_ENV.WARDEN_AUTH_PRIVATE_JWK).d)).toBe(true);
    expect(refused(randomKey())).toBe(false);
  });
});

describe("outside a test run the key is vetted on first use", () => {
  test("only WARDEN_ENV=test skips it; unset, production or anything else enforces", () => {
    expect(keyGuardEnforced({ WARDEN_ENV: "test" })).toBe(false);
    for (const mode of [undefined, "", "production", "development", "TEST "])
      expect(keyGuardEnforced({ WARDEN_ENV: mode })).toBe(true);
    expect(() => usableKeyRing({ WARDEN_ENV: "production", SKILL_SECRET_ENCRYPTION_KEY: TEST_KEY })).toThrow(
      /published example key/,
    );
    expect(() => usableKeyRing({ SKILL_SECRET_ENCRYPTION_KEY: TEST_KEY })).toThrow(/published example key/);
    expect(usableKeyRing({ WARDEN_ENV: "test", SKILL_SECRET_ENCRYPTION_KEY: TEST_KEY }).versions).toHaveLength(1);
  });

  test.each([
    ["production", "production"],
    ["unset", undefined],
  ])(
    "deployment with WARDEN_ENV %s: storing a secret with the test key fails closed; a fresh key works",
    async (_label, mode) => {
      const t = newT();
      const o = await member(t, { role: "owner" });
      const skillId = await makeSkill(t, o.workspaceId, ["API_KEY"]);
      if (mode === undefined) delete process.env.WARDEN_ENV;
      else process.env.WARDEN_ENV = mode;
      setKeys(TEST_KEY);
      await expectCode(
        o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_KEY", value: "sk-live-value-1234" }),
        "SECRET_KEY_UNAVAILABLE",
      );
      expect(await t.run(async (ctx) => await ctx.db.query("skillSecrets").collect())).toEqual([]);
      setKeys(undefined);
      await expectCode(
        o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_KEY", value: "sk-live-value-1234" }),
        "SECRET_KEY_UNAVAILABLE",
      );
      setKeys(randomKey());
      expect(
        await o.as.mutation(api.secrets.manage.setSkillSecret, {
          skillId,
          name: "API_KEY",
          value: "sk-live-value-1234",
        }),
      ).toMatchObject({ name: "API_KEY" });
    },
  );

  test("a test run (WARDEN_ENV=test) may use the test key", async () => {
    const t = newT();
    const o = await member(t, { role: "owner" });
    const skillId = await makeSkill(t, o.workspaceId, ["API_KEY"]);
    expect(process.env.WARDEN_ENV).toBe("test");
    expect(process.env.SKILL_SECRET_ENCRYPTION_KEY).toBe(TEST_KEY);
    expect(
      await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_KEY", value: "sk-test-value-1234" }),
    ).toMatchObject({ name: "API_KEY" });
  });
});
