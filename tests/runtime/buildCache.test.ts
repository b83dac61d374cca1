// @vitest-environment node
// The bundle cache: an unchanged app reuses its build (no esbuild run); a changed source or a new module
// builds again; going back to earlier sources finds the earlier build; a second app instance in one process
// gets its own module instances; builds nobody points at or uses are removed; cache: false builds privately.
import { afterAll, expect, test } from "vitest";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { loadApp } from "../../runtime/load.js";
import { FIXTURE, REPO, tempDir } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the fixture app with its own node_modules/.cache (npm packages through symlinks). */
function project() {
  const dir = tempDir("warden-bc-");
  dirs.push(dir);
  cpSync(join(FIXTURE, "convex"), join(dir, "convex"), { recursive: true });
  rmSync(join(dir, "convex", "vault.ts")); // imports the repo's convex/lib by a relative path
  mkdirSync(join(dir, "node_modules"));
  for (const name of readdirSync(join(REPO, "node_modules")))
    if (name !== ".cache") symlinkSync(join(REPO, "node_modules", name), join(dir, "node_modules", name));
  return dir;
}

async function load(dir: string) {
  const app = await loadApp(join(dir, "convex"));
  expect(typeof (await app.files.messages()).list).toBe("function");
  return { dir: app.cache!.dir, built: app.cache!.built, outDir: app.outDir, app };
}

test("unchanged → reused; changed source or new module → rebuilt; stale builds removed", async () => {
  const dir = project();
  const cache = join(dir, "node_modules", ".cache", "warden-runtime-builds");
  const a = await load(dir);
  expect(a.built).toBe(true);
  expect(a.dir).toMatch(/\/b-[0-9a-f]+$/);
  expect(a.outDir).toBe(a.dir);
  const b = await load(dir);
  expect(b.built).toBe(false); // no esbuild run
  expect(b.dir).toBe(a.dir);
  // A second instance in this process imports a private copy: its modules are not the first instance's.
  expect(b.outDir).not.toBe(a.outDir);
  expect(await b.app.files.messages()).not.toBe(await a.app.files.messages());
  b.app.cleanup();
  expect(existsSync(b.outDir)).toBe(false);

  // A changed source file (contents are hashed).
  const file = join(dir, "convex", "messages.ts");
  const original = readFileSync(file, "utf8");
  writeFileSync(file, original.replace('order("desc").take(100)', 'order("desc").take(99)'));
  const c = await load(dir);
  expect(c.built).toBe(true);
  expect(c.dir).not.toBe(a.dir);
  expect(readFileSync(join(c.outDir, "app", "messages.js"), "utf8")).toContain("take(99)");

  // A new module.
  writeFileSync(
    join(dir, "convex", "extra.ts"),
    'import { query } from "./_generated/server";\nexport const ping = query({ args: {}, handler: async () => "pong" });\n',
  );
  const d = await load(dir);
  expect(d.built).toBe(true);
  expect(Object.keys(d.app.files)).toContain("extra");
  const d2 = await load(dir);
  expect([d2.built, d2.dir]).toEqual([false, d.dir]);
  d2.app.cleanup();

  // Back to the first sources: the build comes out identical, so the first folder is used again.
  rmSync(join(dir, "convex", "extra.ts"));
  writeFileSync(file, original);
  const e = await load(dir);
  expect(e.dir).toBe(a.dir);
  expect(Object.keys(e.app.files)).not.toContain("extra");
  expect(readFileSync(join(e.outDir, "app", "messages.js"), "utf8")).toContain("take(100)");
  const e2 = await load(dir);
  expect([e2.built, e2.dir]).toEqual([false, a.dir]);

  // Builds nobody points at and nobody uses, older than an hour, are removed at the next load.
  for (const r of [a, c, d, e, e2]) r.app.cleanup();
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const name of readdirSync(cache)) if (name.startsWith("b-")) utimesSync(join(cache, name), old, old);
  const f = await load(dir);
  expect(f.dir).toBe(a.dir);
  expect(readdirSync(cache).filter((n) => n.startsWith("b-"))).toEqual([a.dir.split("/").pop()]);
  f.app.cleanup();

  // cache: false (WARDEN_BUILD_CACHE=0) builds into a private folder removed by cleanup.
  const g = await loadApp(join(dir, "convex"), { cache: false });
  expect(g.cache).toBeNull();
  g.cleanup();
  expect(existsSync(g.outDir)).toBe(false);
}, 120_000);
