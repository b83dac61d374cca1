// @vitest-environment node
import { describe, expect, test } from "vitest";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "_generated" || name === "node_modules") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|tsx|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function matching(dir: string, re: RegExp): string[] {
  return files(join(ROOT, dir))
    .filter((f) => re.test(readFileSync(f, "utf8")))
    .map((f) => relative(ROOT, f).split("\\").join("/"));
}

describe("decryption call sites", () => {
  test("decryptSecret / reencrypt are used only in convex/secrets/ and the secretbox library", () => {
    const users = matching("convex", /\b(decryptSecret|reencrypt)\s*\(/);
    const stray = users.filter(
      (f) => !f.startsWith("convex/secrets/") && !/^convex\/lib\/secretbox(\.test)?\.ts$/.test(f),
    );
    expect(stray).toEqual([]);
    // the read path and the rotation job really are the call sites (the scan is not vacuous)
    expect(users).toEqual(expect.arrayContaining(["convex/secrets/access.ts", "convex/secrets/rotation.ts"]));
  });

  test("the cipher itself is imported only by secretbox (through lib/crypto/xchacha)", () => {
    const users = matching("convex", /from\s+["']@noble\/ciphers\/chacha/);
    expect(users.filter((f) => !/^convex\/lib\/(secretbox|crypto\/xchacha)(\.test)?\.ts$/.test(f))).toEqual([]);
    const aead = matching("convex", /from\s+["'][./]*(lib\/)?crypto\/xchacha["']/);
    expect(aead.filter((f) => !/^convex\/lib\/(secretbox\.ts|crypto\/xchacha\.test\.ts)$/.test(f))).toEqual([]);
    expect(aead).toContain("convex/lib/secretbox.ts");
  });

  test("no other domain touches the secret tables directly", () => {
    const users = matching("convex", /\.(query|insert)\(\s*["'](skill|channel|mcpServer)Secrets["']/);
    expect(users.filter((f) => !f.startsWith("convex/secrets/"))).toEqual([]);
  });

  test("browser code never imports the secret library or the read path", () => {
    expect(matching("src", /lib\/secretbox|secrets\/access/)).toEqual([]);
  });
});
