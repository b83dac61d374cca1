// @vitest-environment node
// Read sets per index range: a write re-runs only the subscriptions whose ranges (or documents) it
// touches, through the real ConvexClient.
import { afterAll, beforeAll, expect, test } from "vitest";
import { anyApi } from "convex/server";
import { client, startFixture, waitFor } from "./helpers.js";

let rt: Awaited<ReturnType<typeof startFixture>>;
beforeAll(async () => {
  rt = await startFixture();
});
afterAll(async () => {
  await rt?.cleanup();
});

test("a write re-runs only subscriptions whose index range it touches", async () => {
  const c = client(rt.url);
  const seen: Record<string, string[][]> = { alice: [], bob: [], latest: [] };
  const unsubs = [
    c.onUpdate(anyApi.messages.byAuthor, { author: "alice" }, (v: any[]) => seen.alice.push(v.map((m) => m.body))),
    c.onUpdate(anyApi.messages.byAuthor, { author: "bob" }, (v: any[]) => seen.bob.push(v.map((m) => m.body))),
  ];
  await waitFor(() => seen.alice.length && seen.bob.length);
  await rt.hub.idle();

  let runs = rt.hub.stats.queryRuns;
  await c.mutation(anyApi.messages.send, { author: "alice", body: "a1" });
  await waitFor(() => seen.alice.at(-1)?.includes("a1"));
  await rt.hub.idle();
  expect(rt.hub.stats.queryRuns - runs).toBe(1); // alice's range only; bob's result is reused
  expect(seen.bob.at(-1)).toEqual([]);

  // A desc take(100) over the whole table: any insert at its top end touches it; a write in bob's range
  // re-runs bob's query and the list, not alice's.
  unsubs.push(c.onUpdate(anyApi.messages.list, {}, (v: any[]) => seen.latest.push(v.map((m) => m.body))));
  await waitFor(() => seen.latest.length);
  await rt.hub.idle();
  runs = rt.hub.stats.queryRuns;
  await c.mutation(anyApi.messages.send, { author: "bob", body: "b1" });
  await waitFor(() => seen.latest.at(-1)?.includes("b1") && seen.bob.at(-1)?.includes("b1"));
  await rt.hub.idle();
  expect(rt.hub.stats.queryRuns - runs).toBe(2);
  expect(seen.alice.at(-1)).toEqual(["a1"]);

  // A write to another table touches none of them.
  runs = rt.hub.stats.queryRuns;
  await c.mutation(anyApi.counters.increment, { name: "x" }).catch(() => undefined);
  await rt.hub.idle();
  expect(rt.hub.stats.queryRuns - runs).toBe(0);

  unsubs.forEach((u) => u());
  await c.close();
});
