// @vitest-environment node
// Write-ahead log recovery without a clean shutdown: replay, a torn final entry is dropped (it was
// never acknowledged), a corrupt entry in the middle refuses to start.
import { afterAll, beforeAll, expect, test } from "vitest";
import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Backend, moduleMap } from "../../runtime/internals.js";
import { loadApp, type LoadedApp } from "../../runtime/load.js";
import { Persistence } from "../../runtime/persist.js";
import { FIXTURE, ensureFixture, tempDir } from "./helpers.js";

let app: LoadedApp;
const dirs: string[] = [];
beforeAll(async () => {
  ensureFixture();
  app = await loadApp(join(FIXTURE, "convex"));
});
afterAll(() => {
  app?.cleanup();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function open(dir: string) {
  const backend = await Backend.create({
    schema: app.schema,
    modules: moduleMap(app.files, "/convex"),
    components: [],
  });
  const p = new Persistence(dir, backend, { compactEntries: 1_000_000 });
  const info = await p.recover();
  backend.setHooks({ onCommit: (r) => p.onCommit(r), onBlobStored: (path, id, b) => p.onBlobStored(path, id, b) });
  const send = async (body: string) => {
    const id = await backend.root.mutationFromPath(
      { udfPath: "messages:send", componentPath: "" },
      { author: "wal", body },
    );
    await p.sync();
    return id as string;
  };
  const bodies = async () =>
    (
      (await backend.root.queryFromPath(
        { udfPath: "messages:byAuthor", componentPath: "" },
        { author: "wal" },
      )) as any[]
    ).map((m) => m.body);
  return { backend, p, info, send, bodies };
}

const segment = (dir: string) => join(dir, "wal", readdirSync(join(dir, "wal")).sort().at(-1)!);

test("replays acknowledged entries and drops a torn final entry", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const a = await open(dir);
  for (const b of ["one", "two", "three"]) await a.send(b);
  // Simulate a crash in the middle of writing a fourth entry.
  appendFileSync(segment(dir), '0badc0de {"s":4,"ts":"1","c":');
  const b = await open(dir);
  expect(b.info.replayed).toBe(3);
  expect((await b.bodies()).sort()).toEqual(["one", "three", "two"]);
});

test("a corrupt entry followed by valid ones refuses to start", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const a = await open(dir);
  for (const b of ["x", "y", "z"]) await a.send(b);
  const file = segment(dir);
  const lines = readFileSync(file, "utf8").split("\n");
  lines[1] = lines[1].replace('"y"', '"Y"'); // CRC no longer matches
  writeFileSync(file, lines.join("\n"));
  await expect(open(dir)).rejects.toThrow(/corrupt log entry/);
});
