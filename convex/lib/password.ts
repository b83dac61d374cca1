/**
 * PBKDF2-SHA256 password hashes (WebCrypto; runs in Convex's default runtime and Node).
 * Format: pbkdf2_sha256$<iterations>$<salt base64>$<hash base64>
 */
export const PASSWORD_ITERATIONS = 600_000;
export const MIN_PASSWORD_ITERATIONS = 600_000;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function unb64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PASSWORD_ITERATIONS): Promise<string> {
  if (iterations < MIN_PASSWORD_ITERATIONS) throw new Error(`PBKDF2 iterations must be >= ${MIN_PASSWORD_ITERATIONS}`);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2_sha256$${iterations}$${b64(salt)}$${b64(hash)}`;
}

/** Parses a stored hash; null if malformed or weaker than the minimum. */
export function parsePasswordHash(stored: string): { iterations: number; salt: Uint8Array; hash: Uint8Array } | null {
  const parts = stored.split("$");
  if (parts.length !== 4 || parts[0] !== "pbkdf2_sha256") return null;
  const iterations = Number(parts[1]);
  if (!Number.isSafeInteger(iterations) || iterations < MIN_PASSWORD_ITERATIONS || iterations > 10_000_000) return null;
  try {
    const salt = unb64(parts[2]);
    const hash = unb64(parts[3]);
    if (salt.length < 16 || hash.length !== HASH_BYTES) return null;
    return { iterations, salt, hash };
  } catch {
    return null;
  }
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

// A fixed, valid hash used to spend the same time when the account does not exist.
const DUMMY_SALT = new Uint8Array(SALT_BYTES).fill(7);

/** Verifies a password; `stored` undefined still costs one full derivation (no user-enumeration timing). */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = stored ? parsePasswordHash(stored) : null;
  if (!parsed) {
    await derive(password, DUMMY_SALT, PASSWORD_ITERATIONS);
    return false;
  }
  const candidate = await derive(password, parsed.salt, parsed.iterations);
  return constantTimeEqual(candidate, parsed.hash);
}

/** Length policy for a password a person chooses (invite redemption, change-my-password). */
export function passwordLengthOk(password: string): boolean {
  return password.length >= MIN_PASSWORD_LENGTH && password.length <= MAX_PASSWORD_LENGTH;
}
