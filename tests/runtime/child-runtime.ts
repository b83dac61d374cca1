// Runs the fixture runtime in a child process for the crash tests (`node --import tsx`), so the
// test can kill -9 it. Prints one JSON line when ready.
import { join } from "node:path";
import { FIXTURE, ensureFixture } from "./helpers.js";
import { startRuntime } from "../../runtime/index.js";

ensureFixture();
const rt = await startRuntime({
  convexDir: join(FIXTURE, "convex"),
  dataDir: process.env.CHILD_DATA_DIR!,
  port: 0,
  quiet: true,
  ownEnv: true,
  limits: { newPerIpPerMinute: 1000 },
  compactEntries: Number(process.env.CHILD_COMPACT_ENTRIES) || undefined,
});
// Install the handler before announcing readiness (a signal before it would kill the process).
process.on("SIGTERM", () => {
  void rt.stop().then(() => {
    process.stdout.write("STOPPED\n");
    process.exit(0);
  });
});
process.stdout.write(`${JSON.stringify({ url: rt.url, siteUrl: rt.siteUrl, recovery: rt.recovery })}\n`);
