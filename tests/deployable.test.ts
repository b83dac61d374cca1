// @vitest-environment node
/**
 * Stands in for `npx convex deploy`: bundles every convex/ module the way the Convex CLI does
 * (esbuild, browser platform, `convex`/`module` conditions) and checks the "use node" rules.
 */
import { describe, expect, test } from "vitest";
import { build } from "esbuild";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";

const convexDir = join(__dirname, "..", "convex");

function modules(dir = convexDir, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (e !== "_generated") modules(p, out);
    } else if (/^[^.]+\.ts$/.test(e)) out.push(p);
  }
  return out;
}

export function isUseNode(src: string): boolean {
  const body = src.replace(/^(\s*(\/\/[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, "");
  return /^["']use node["'];?/.test(body);
}

const all = modules();
const nodeFiles = all.filter((f) => isUseNode(readFileSync(f, "utf8")));
const isolateFiles = all.filter((f) => !nodeFiles.includes(f));

describe("deployable to Convex", () => {
  test("default-runtime modules bundle for the browser platform without Node built-ins", async () => {
    const result = await build({
      entryPoints: isolateFiles,
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "esnext",
      conditions: ["convex", "module"],
      mainFields: ["browser", "module", "main"],
      write: false,
      outdir: "/tmp/convex-bundle-check",
      splitting: true,
      logLevel: "silent",
      metafile: true,
    }).catch((e: any) => ({ errors: e.errors ?? [e], metafile: null }));
    const errors = (result.errors ?? []).map((e: any) => `${e.location?.file ?? "?"}: ${e.text}`);
    expect(
      errors,
      'a default-runtime module pulls in something that needs Node; mark it "use node" or move the import',
    ).toEqual([]);
    const inputs = Object.keys(result.metafile?.inputs ?? {});
    expect(
      inputs.filter((i) => /^node:|^(fs|net|http|https|dns|child_process|crypto|stream|zlib|os|path)$/.test(i)),
    ).toEqual([]);
  }, 120_000);

  test('convex/http.ts, crons.ts, schema.ts and auth.config.ts are not "use node"', () => {
    for (const f of ["http.ts", "crons.ts", "schema.ts", "auth.config.ts"]) {
      const p = join(convexDir, f);
      try {
        expect(isUseNode(readFileSync(p, "utf8")), f).toBe(false);
      } catch (e: any) {
        if (e.code !== "ENOENT") throw e;
      }
    }
  });

  test('"use node" modules export only actions', async () => {
    for (const f of nodeFiles) {
      const mod = await import(pathToFileURL(f).href);
      for (const [name, value] of Object.entries(mod)) {
        const v = value as any;
        expect(v && v.isAction === true, `${relative(convexDir, f)} exports ${name}, which is not an action`).toBe(
          true,
        );
      }
    }
  }, 120_000);

  test("the bundler check catches a Node import (self-test)", async () => {
    const r = await build({
      stdin: {
        contents: 'import { createHash } from "node:crypto"; export const x = createHash;',
        resolveDir: convexDir,
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    }).then(
      () => "built",
      () => "failed",
    );
    expect(r).toBe("failed");
  });
});
