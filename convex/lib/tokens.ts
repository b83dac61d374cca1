/** Random bearer tokens (sessions, MCP clients) and their at-rest hashes. */
import { utf8 } from "./crypto/bytes";
import { bytesToHex } from "./crypto/encoding";
import { nativeCrypto, sha256Bytes } from "./crypto/hmac";

export function randomToken(prefix: string, bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const b of raw) s += String.fromCharCode(b);
  return prefix + btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Lower-case hex SHA-256 of the text's UTF-8 bytes. Synchronous native hashing where the runtime
 * offers node:crypto without an import (no thread-pool hop on every signed-in call); Web Crypto
 * on Convex's default runtime. Same digest on both paths (tokens.test.ts).
 */
export async function sha256Hex(text: string): Promise<string> {
  if (nativeCrypto) return bytesToHex(sha256Bytes(utf8(text)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
