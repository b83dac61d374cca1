// @vitest-environment node
// Clean shutdown (issue 20.3): `npm start`'s SIGTERM/SIGINT handling closes open WebSockets and exits
// within a few seconds, and every acknowledged write is there after a restart.
import { afterAll, describe, expect, test } from "vitest";
import { rmSync } from "node:fs";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { RawSocket, client, tempDir, waitFor } from "./helpers.js";
import { startCli } from "./cli-child.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("clean shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} with open clients exits within 5 s and keeps acknowledged writes`, async () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const first = await startCli(dataDir);
      // A subscribed ConvexClient (reconnects like a browser tab) and a raw socket that never closes on its own.
      const c = client(first.url);
      const seen: number[] = [];
      c.onUpdate(api.messages.count, {}, (n) => seen.push(n));
      const raw = await RawSocket.open(first.url);
      raw.connect();
      const acked: string[] = [];
      for (let i = 0; i < 5; i++)
        acked.push(await c.mutation(api.messages.send, { author: "shutdown", body: `m${i}` }));
      await waitFor(() => seen.includes(5));

      // Writes still in flight when the signal arrives: whatever was acknowledged must survive.
      for (let i = 0; i < 20; i++)
        void c.mutation(api.messages.send, { author: "shutdown", body: `late${i}` }).then(
          (id) => acked.push(id),
          () => undefined,
        );
      const t0 = Date.now();
      first.proc.kill(signal);
      const code = await Promise.race([
        first.exited,
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000)),
      ]);
      const ms = Date.now() - t0;
      if (code === "timeout") first.proc.kill("SIGKILL");
      await c.close();
      console.log(
        `[shutdown] ${signal} with 2 open WebSockets: ${code === "timeout" ? ">5000" : ms} ms, ${acked.length} writes acknowledged`,
      );
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
      // The server closed the raw socket with "going away" rather than the socket just dying.
      expect((await raw.waitClosed(1000)).code).toBe(1001);
      expect(first.out.join("\n")).toMatch(/Stopped cleanly in \d+ ms/);

      const second = await startCli(dataDir);
      try {
        const rows = await new ConvexHttpClient(second.url).query(api.messages.byAuthor, { author: "shutdown" });
        expect(rows.map((r) => r._id).sort()).toEqual([...acked].sort());
      } finally {
        second.proc.kill("SIGKILL");
        await second.exited;
      }
    });
  }
});
