// `npm start`: build SyncBoard when needed, then run the embedded runtime until Ctrl-C / SIGTERM.
// Environment: PORT (3210), SITE_PORT (PORT+1), HOST (127.0.0.1), WARDEN_DATA_DIR (./.data),
// WARDEN_CONVEX_DIR (./convex), WARDEN_SKIP_UI_BUILD=1, AUTH_MODE, WARDEN_ALLOWED_ORIGINS.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { startRuntime } from "./index.js";

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) if (name !== "node_modules") max = Math.max(max, newestMtime(join(path, name)));
  return max;
}

function buildUiIfNeeded(projectDir: string) {
  if (process.env.WARDEN_SKIP_UI_BUILD === "1") return;
  const config = ["vite.config.ts", "vite.config.js", "vite.config.mjs"]
    .map((f) => join(projectDir, f))
    .find(existsSync);
  if (!config || !existsSync(join(projectDir, "index.html"))) {
    console.log("SyncBoard: no vite config / index.html yet; starting without UI build.");
    return;
  }
  const built = join(projectDir, "dist", "index.html");
  const sources = Math.max(
    ...[join(projectDir, "src"), join(projectDir, "public"), join(projectDir, "index.html"), config].map(newestMtime),
  );
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  console.log("SyncBoard: building (vite build)…");
  const vite = join(projectDir, "node_modules", "vite", "bin", "vite.js");
  const r = spawnSync(process.execPath, [vite, "build"], { cwd: projectDir, stdio: "inherit" });
  if (r.status !== 0) console.warn("SyncBoard: vite build failed; continuing without an up-to-date UI.");
}

async function main() {
  const convexDir = resolve(process.env.WARDEN_CONVEX_DIR ?? "convex");
  buildUiIfNeeded(dirname(convexDir));
  const rt = await startRuntime({ convexDir, echoFunctionLogs: true });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log("Forced exit.");
      process.exit(1);
    }
    stopping = true;
    const t0 = Date.now();
    console.log(`\n${signal}: shutting down (closing connections, flushing the log, writing a snapshot)…`);
    // Safety net: a stop that hangs must not keep the process (and the data dir lock) forever.
    setTimeout(() => {
      console.error(
        "Shutdown took longer than 15 s; exiting without a final snapshot (the write-ahead log has every acknowledged write).",
      );
      process.exit(1);
    }, 15_000).unref();
    try {
      await rt.stop();
      console.log(`Stopped cleanly in ${Date.now() - t0} ms.`);
      process.exit(0);
    } catch (e) {
      console.error("Shutdown failed:", e);
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
