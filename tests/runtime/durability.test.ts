// @vitest-environment node
// Crash safety: every acknowledged mutation survives kill -9 (write-ahead log fsynced before the ack,
// with snapshots compacting the log while writes go on); pending scheduled jobs are re-armed.
import { afterAll, describe, expect, test } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { REPO, client, tempDir, waitFor } from "./helpers.js";

type Child = {
  proc: ChildProcess;
  url: string;
  recovery: { replayed: number; documents: number; snapshotSeq: number };
  out: string[];
};

function startChild(dataDir: string, env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", join(REPO, "tests/runtime/child-runtime.ts")], {
    cwd: REPO,
    env: { ...process.env, CHILD_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const out: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        out.push(line);
        if (line.startsWith("{")) resolve({ proc, out, ...JSON.parse(line) });
      }
    });
    proc.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
}

function kill9(c: Child) {
  return new Promise<void>((resolve) => {
    c.proc.once("exit", () => resolve());
    c.proc.kill("SIGKILL");
  });
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("durability", () => {
  test("kill -9 right after the last ack loses nothing; jobs are re-armed; SIGTERM leaves a clean snapshot", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    // Snapshot every 7 transactions so the crash lands between compactions.
    const first = await startChild(dataDir, { CHILD_COMPACT_ENTRIES: "7" });
    const http = new ConvexHttpClient(first.url);
    const acked: string[] = [];
    const ws = client(first.url);
    const wsWrites = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ws.mutation(api.messages.send, { author: "crash", body: `ws${i}` }).then((id) => acked.push(id)),
      ),
    );
    for (let i = 0; i < 40; i++)
      acked.push(await http.mutation(api.messages.send, { author: "crash", body: `http${i}` }));
    await wsWrites;
    const jobId = await http.mutation(api.jobs.schedule, { note: "after restart", delayMs: 1500 });
    await kill9(first); // immediately after the last acknowledgement
    await ws.close();

    const second = await startChild(dataDir);
    const http2 = new ConvexHttpClient(second.url);
    try {
      expect(second.recovery.replayed + second.recovery.snapshotSeq).toBeGreaterThan(0);
      const rows = await http2.query(api.messages.byAuthor, { author: "crash" });
      expect(rows.map((r) => r._id).sort()).toEqual([...acked].sort());
      expect(acked).toHaveLength(60);
      // The pending job had no timer in the new process; the runtime re-armed it with the same id.
      const job = await waitFor(
        async () => (await http2.query(api.jobs.list, {})).find((j) => j._id === jobId && j.ranAt),
        6000,
      );
      expect(job.ranAt).toBeGreaterThan(0);
      // New IDs continue after the restored ones.
      const next = await http2.mutation(api.messages.send, { author: "crash", body: "after" });
      expect(acked).not.toContain(next);
    } catch (e) {
      await kill9(second);
      throw e;
    }

    // Clean shutdown: flush + snapshot, empty log, private files.
    const stopped = new Promise<number | null>((r) => second.proc.once("exit", (code) => r(code)));
    second.proc.kill("SIGTERM");
    expect(await stopped).toBe(0);
    expect(second.out).toContain("STOPPED");
    expect(existsSync(join(dataDir, "snapshot.json"))).toBe(true);
    const walBytes = readdirSync(join(dataDir, "wal")).reduce((n, f) => n + statSync(join(dataDir, "wal", f)).size, 0);
    expect(walBytes).toBe(0);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, "keys.json")).mode & 0o777).toBe(0o600);
    const third = await startChild(dataDir);
    try {
      expect(third.recovery.replayed).toBe(0);
      const rows = await new ConvexHttpClient(third.url).query(api.messages.byAuthor, { author: "crash" });
      expect(rows).toHaveLength(61);
    } finally {
      await kill9(third);
    }
  });
});
