/**
 * Production guard: refuse to run with a missing, malformed or published encryption key (the
 * docs' examples and every 32-byte value in this repository, by fingerprint: lib/knownKeys.ts).
 * It cannot be skipped: every use of the key (secrets/store.ts keyRingOrFail) runs the same check
 * unless WARDEN_ENV=test. `npx convex run secrets/guard:check` runs it at deploy time, and the
 * embedded runtime runs it at start in production mode.
 */
import { v } from "convex/values";
import { internalAction } from "../_generated/server";
import {
  assertProductionKey,
  generateKeyCommand,
  KEY_ENV,
  loadKeyRing,
  PREVIOUS_KEYS_ENV,
  SecretboxError,
} from "../lib/secretbox";

export class SecretsNotConfiguredError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "SecretsNotConfiguredError";
    this.code = code;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Throws SecretsNotConfiguredError (message names SKILL_SECRET_ENCRYPTION_KEY and the command to
 * generate one, never the key) unless the current key is usable in production.
 */
export function assertSecretsConfigured(env: Env): { keyVersion: string; previousVersions: string[] } {
  try {
    assertProductionKey(env);
    const ring = loadKeyRing(env);
    return {
      keyVersion: ring.currentVersion,
      previousVersions: ring.versions.filter((x) => x !== ring.currentVersion),
    };
  } catch (e) {
    if (!(e instanceof SecretboxError)) throw e;
    const which = e.message.includes(PREVIOUS_KEYS_ENV) ? PREVIOUS_KEYS_ENV : KEY_ENV;
    let message = `Refusing to run in production: ${which} is not usable (${e.code}). ${e.message}`;
    if (!message.includes(generateKeyCommand)) message += ` Generate a key with: ${generateKeyCommand}`;
    throw new SecretsNotConfiguredError(e.code, message);
  }
}

/** Run after every production deploy: `npx convex run secrets/guard:check`. */
export const check = internalAction({
  args: {},
  returns: v.object({ ok: v.literal(true), keyVersion: v.string(), previousVersions: v.array(v.string()) }),
  handler: async () => ({ ok: true as const, ...assertSecretsConfigured(process.env) }),
});
