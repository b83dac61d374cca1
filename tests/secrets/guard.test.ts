import { afterEach, describe, expect, test } from "vitest";
import { internal } from "../../convex/_generated/api";
import { assertSecretsConfigured, SecretsNotConfiguredError } from "../../convex/secrets/guard";
import { EXAMPLE_KEY, generateKeyCommand, keyVersionOf, parseKey } from "../../convex/lib/secretbox";
import { newT } from "../harness";
import { randomKey, resetKeys, setKeys } from "./fixtures";

afterEach(resetKeys);

function refusal(env: Record<string, string | undefined>): SecretsNotConfiguredError {
  try {
    assertSecretsConfigured(env);
  } catch (e) {
    expect(e).toBeInstanceOf(SecretsNotConfiguredError);
    return e as SecretsNotConfiguredError;
  }
  throw new Error("expected a refusal");
}

describe("production key guard", () => {
  test.each([
    ["missing", {}],
    ["empty", { SKILL_SECRET_ENCRYPTION_KEY: "  " }],
    ["not base64/hex", { SKILL_SECRET_ENCRYPTION_KEY: "hunter2!" }],
    ["wrong length", { SKILL_SECRET_ENCRYPTION_KEY: "c2hvcnQta2V5" }],
    ["the docs example key", { SKILL_SECRET_ENCRYPTION_KEY: EXAMPLE_KEY }],
    [
      "the example key in hex",
      { SKILL_SECRET_ENCRYPTION_KEY: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" },
    ],
    ["all zero", { SKILL_SECRET_ENCRYPTION_KEY: "0".repeat(64) }],
    ["one repeated byte", { SKILL_SECRET_ENCRYPTION_KEY: "41".repeat(32) }],
    [
      "a malformed previous key",
      { SKILL_SECRET_ENCRYPTION_KEY: randomKey(), SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS: "nope" },
    ],
  ])("refuses %s, naming the variable and the generate command, never the value", (_label, env) => {
    const e = refusal(env);
    expect(e.message).toContain("SKILL_SECRET_ENCRYPTION_KEY");
    expect(e.message).toContain(generateKeyCommand);
    const value = (env as Record<string, string>).SKILL_SECRET_ENCRYPTION_KEY;
    if (value && value.trim().length > 4) expect(e.message).not.toContain(value.trim());
  });

  test("accepts a freshly generated key, with previous keys", () => {
    const current = randomKey();
    const previous = randomKey();
    expect(
      assertSecretsConfigured({ SKILL_SECRET_ENCRYPTION_KEY: current, SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS: previous }),
    ).toEqual({
      keyVersion: keyVersionOf(parseKey(current)),
      previousVersions: [keyVersionOf(parseKey(previous))],
    });
  });

  test("secrets/guard:check runs the same check in the deployment", async () => {
    const t = newT();
    const key = randomKey();
    setKeys(key);
    expect(await t.action(internal.secrets.guard.check, {})).toEqual({
      ok: true,
      keyVersion: keyVersionOf(parseKey(key)),
      previousVersions: [],
    });
    setKeys(EXAMPLE_KEY);
    await expect(t.action(internal.secrets.guard.check, {})).rejects.toThrow(/SKILL_SECRET_ENCRYPTION_KEY/);
    setKeys(undefined);
    await expect(t.action(internal.secrets.guard.check, {})).rejects.toThrow(/SKILL_SECRET_ENCRYPTION_KEY/);
  });
});
