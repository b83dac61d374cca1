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
      const s = await fetch(`http://127.0.0.1:${sitePort}/health`).then(
        (r) => r.status,
        () => 0,
      );
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

test("production mode refuses a well-known encryption key and a missing one", async () => {
  const { EXAMPLE_KEY } = await import("../../convex/lib/secretbox");
  for (const key of [EXAMPLE_KEY, ""]) {
    const dir = tempDir();
    try {
      await expect(
        startRuntime({
          convexDir: join(REPO, "convex"),
          dataDir: dir,
          port: 0,
          sitePort: 0,
          quiet: true,
          env: { WARDEN_ENV: "production", SKILL_SECRET_ENCRYPTION_KEY: key },
        }),
      ).rejects.toThrow(/SKILL_SECRET_ENCRYPTION_KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("the owners file written by the CLI is applied at start", async () => {
  const { writeFileSync } = await import("node:fs");
  const { hashPassword } = await import("../../convex/lib/password");
  const dir = tempDir();
  writeFileSync(
    join(dir, "owners.json"),
    JSON.stringify({
      version: 1,
      owners: [
        {
          ownerKey: "file_owner",
          passwordHash: await hashPassword("file-owner-password"),
          role: "admin",
          active: true,
        },
      ],
    }),
  );
  const r = await startRuntime({
    convexDir: join(REPO, "convex"),
    dataDir: dir,
    port: 0,
    sitePort: 0,
    quiet: true,
    ownEnv: true,
  });
  try {
    const res = await fetch(`${r.siteUrl}/auth/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ownerKey: "file_owner", password: "file-owner-password" }),
    });
    expect(res.status).toBe(200);
  } finally {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
