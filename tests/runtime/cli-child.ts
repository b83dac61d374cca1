// Runs runtime/cli.ts (what `npm start` runs) in a child process for the shutdown, metrics and
// operator-CLI tests (not a test file).
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { TEST_ENV } from "../env.js";
import { FIXTURE, REPO, ensureFixture } from "./helpers.js";

type Cli = { proc: ChildProcess; url: string; out: string[]; exited: Promise<number | null> };

/** Starts the CLI on the fixture app on ephemeral ports; resolves once the banner shows the URL. */
export function startCli(dataDir: string, env: Record<string, string> = {}): Promise<Cli> {
  ensureFixture();
  const base: Record<string, string> = {};
  // The child gets the runtime's own env, not the fake deployment env vitest injects.
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in TEST_ENV)) base[k] = v;
  const proc = spawn(process.execPath, ["--import", "tsx", join(REPO, "runtime/cli.ts")], {
    cwd: REPO,
    env: {
      ...base,
      WARDEN_CONVEX_DIR: join(FIXTURE, "convex"),
      WARDEN_DATA_DIR: dataDir,
      PORT: "0",
      WARDEN_SKIP_UI_BUILD: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        out.push(line);
        const m = /SyncBoard \+ Convex API\s+(http:\/\/\S+)/.exec(line);
        if (m) resolve({ proc, url: m[1], out, exited });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) => reject(new Error(`runtime exited early (${code}): ${out.join("\n")}`)));
  });
}
