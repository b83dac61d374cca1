// Runs the Warden app on the embedded runtime in a child process for the delivery crash test
// (not a test file), so the test can kill -9 it. Prints one JSON line when ready.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRuntime } from "../../runtime/index.js";
import { hashPassword } from "../../convex/lib/password";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = process.env.CHILD_DATA_DIR!;
if (process.env.CHILD_SEED) writeFileSync(join(dataDir, "owner-bootstrap.done"), "seeded by the crash test");
const rt = await startRuntime({
  convexDir: join(REPO, "convex"),
  dataDir,
  port: 0,
  quiet: true,
  ownEnv: true,
  limits: { newPerIpPerMinute: 1000 },
  env: JSON.parse(process.env.CHILD_ENV ?? "{}"),
});
if (process.env.CHILD_SEED) {
  const owner = JSON.parse(process.env.CHILD_SEED) as { ownerKey: string; password: string };
  await rt.engine.callSystem("owners/admin:syncOwners", {
    owners: [
      { ownerKey: owner.ownerKey, passwordHash: await hashPassword(owner.password), role: "owner", active: true },
    ],
  });
}
process.stdout.write(`${JSON.stringify({ url: rt.url, siteUrl: rt.siteUrl })}\n`);
