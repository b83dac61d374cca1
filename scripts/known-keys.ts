/**
 * Every 32-byte value written in this repository (base64, base64url or hex) is public, so none may
 * serve as SKILL_SECRET_ENCRYPTION_KEY. This finds them and keeps their fingerprints in
 * convex/lib/knownKeys.ts (fingerprints only, never the values); tests/secrets/knownKeys.test.ts
 * fails when one is missing.
 *   npx tsx scripts/known-keys.ts          add fingerprints of every key-like value in tracked files
 * Entries are never removed: a value that was ever committed stays public in the history.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeBase64, KEY_BYTES } from "../convex/lib/secretbox";
import { KNOWN_KEY_FINGERPRINTS, knownKeyFingerprint } from "../convex/lib/knownKeys";

export type Found = { file: string; fingerprint: string };

// A base64/base64url run of 43 chars (+ "=") or 64 hex chars, not part of a longer token.
const CANDIDATE = /(?<![A-Za-z0-9+/_=-])(?:[A-Za-z0-9+/_-]{43}=?|[0-9a-fA-F]{64})(?![A-Za-z0-9+/_=-])/g;

function decode(text: string): Uint8Array | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
  const bytes = decodeBase64(text);
  return bytes && bytes.length === KEY_BYTES ? bytes : null;
}

/** Key-like values in one text, as fingerprints. */
export function keysIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(CANDIDATE)) {
    const bytes = decode(m[0]);
    if (bytes) out.push(knownKeyFingerprint(bytes));
  }
  return out;
}

/** Tracked and untracked (not ignored) text files of the repository. */
export function repoFiles(root: string): string[] {
  const list = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return [...new Set(list.split("\0").filter(Boolean))];
}

export function scanRepo(root: string): Found[] {
  const found: Found[] = [];
  for (const file of repoFiles(root)) {
    let buf: Buffer;
    try {
      buf = readFileSync(join(root, file));
    } catch {
      continue; // deleted in the work tree
    }
    if (buf.length > 4 << 20 || buf.includes(0)) continue; // binary or huge
    for (const fingerprint of keysIn(buf.toString("utf8"))) found.push({ file, fingerprint });
  }
  return found;
}

function main() {
  const root = resolve(process.argv[2] ?? ".");
  const all = new Set([...KNOWN_KEY_FINGERPRINTS, ...scanRepo(root).map((f) => f.fingerprint)]);
  const target = join(root, "convex", "lib", "knownKeys.ts");
  const src = readFileSync(target, "utf8");
  const start = src.indexOf("// fingerprints:start");
  const end = src.indexOf("// fingerprints:end");
  if (start < 0 || end < 0) throw new Error("knownKeys.ts has no fingerprints block");
  const body = [...all]
    .sort()
    .map((f) => `  "${f}",`)
    .join("\n");
  writeFileSync(target, `${src.slice(0, start)}// fingerprints:start\n${body}\n  ${src.slice(end)}`);
  console.log(`${all.size} known-key fingerprints (${all.size - KNOWN_KEY_FINGERPRINTS.length} new)`);
}

if (process.argv[1] && resolve(process.argv[1]).endsWith("known-keys.ts")) main();
