// @vitest-environment node
// Boots the runtime on the real app's convex/ folder: /health answers 503 while starting, 200 when ready.
import { afterAll, expect, test } from "vitest";
import { createServer } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startRuntime, type Runtime } from "../../runtime/index.js";
import { REPO, tempDir } from "./helpers.js";

const dataDir = tempDir();
let rt: Runtime | undefined;
afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as any).port;
      s.close(() => resolve(port));
    });
  });
}

test("the real app boots; GET /health is 503 until ready, then 200", async () => {
  const [port, sitePort] = [await freePort(), await freePort()];
  const statuses: number[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const s = await fetch(`http://127.0.0.1:${sitePort}/health`).then((r) => r.status, () => 0);
      if (s) statuses.push(s);
      if (s === 200) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  rt = await startRuntime({ convexDir: join(REPO, "convex"), dataDir, port, sitePort, quiet: true, ownEnv: true });
  const health = await fetch(`${rt.siteUrl}/health`);
  expect(health.status).toBe(200);
  await poll;
  done = true;
  expect(statuses).toContain(503);
  expect(statuses.at(-1)).toBe(200);
  expect(statuses.indexOf(503)).toBeLessThan(statuses.indexOf(200));
});
