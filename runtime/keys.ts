// Local secrets generated on first start: the skill-secret encryption key and the built-in owner
// issuer's ES256 signing key. Stored in <data>/keys.json (0600) inside a 0700 data directory, or at
// WARDEN_KEYS_FILE (e.g. another volume). Backups leave this file out unless asked (runtime/backup.ts).
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

export type LocalKeys = { SKILL_SECRET_ENCRYPTION_KEY: string; ownerIssuerPrivateJwk: JWK };

export function ensureDataDir(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** Where the keys live: WARDEN_KEYS_FILE, else <data dir>/keys.json. */
export function keysPath(dataDir: string): string {
  return process.env.WARDEN_KEYS_FILE ? resolve(process.env.WARDEN_KEYS_FILE) : join(dataDir, "keys.json");
}

export async function ensureKeys(dataDir: string): Promise<{ keys: LocalKeys; created: boolean }> {
  const file = keysPath(dataDir);
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const keys = JSON.parse(readFileSync(file, "utf8")) as LocalKeys;
    if (typeof keys.SKILL_SECRET_ENCRYPTION_KEY !== "string" || keys.ownerIssuerPrivateJwk?.kty !== "EC")
      throw new Error(`${file} is malformed`);
    return { keys, created: false };
  }
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = "ES256";
  jwk.use = "sig";
  const keys: LocalKeys = {
    SKILL_SECRET_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ownerIssuerPrivateJwk: jwk,
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(keys, null, 2));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { keys, created: true };
}
