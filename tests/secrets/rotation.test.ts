import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { keyVersionOf, parseKey } from "../../convex/lib/secretbox";
import { newT, member, expectCode, type T } from "../harness";
import {
  allSecretRows,
  makeChannel,
  makeServer,
  makeSkill,
  randomKey,
  resetKeys,
  securityEvents,
  setKeys,
} from "./fixtures";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  resetKeys();
});

const versionOf = (key: string) => keyVersionOf(parseKey(key));

/** 7 skill secrets, 3 channel secrets, 2 MCP server secrets, all sealed under `key`. */
async function seed(t: T, key: string) {
  setKeys(key);
  const o = await member(t);
  const names = Array.from({ length: 7 }, (_, i) => `S${i}`);
  const skillId = await makeSkill(t, o.workspaceId, names);
  const channelId = await makeChannel(t, o.workspaceId);
  const serverId = await makeServer(t, o.workspaceId);
  const expected: Record<string, string> = {};
  for (const n of names) {
    expected[n] = `skill-secret-${n}-${Math.random()}`;
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: n, value: expected[n] });
  }
  for (const n of ["C0", "C1", "C2"])
    await o.as.mutation(api.secrets.manage.setChannelSecret, { channelId, name: n, value: `chan-${n}-value` });
  for (const n of ["M0", "M1"])
    await o.as.mutation(api.secrets.manage.setMcpServerSecret, { serverId, name: n, value: `mcp-${n}-value` });
  return { o, skillId, channelId, serverId, names, expected };
}

async function readAll(t: T, s: Awaited<ReturnType<typeof seed>>) {
  return {
    skill: await t.action(internal.secrets.access.readSkillSecrets, { skillId: s.skillId, names: s.names }),
    channel: await t.action(internal.secrets.access.readChannelSecrets, {
      channelId: s.channelId,
      names: ["C0", "C1", "C2"],
    }),
    mcp: await t.action(internal.secrets.access.readMcpServerSecrets, { serverId: s.serverId, names: ["M0", "M1"] }),
  };
}

function expectedAll(s: Awaited<ReturnType<typeof seed>>) {
  return {
    skill: s.expected,
    channel: { C0: "chan-C0-value", C1: "chan-C1-value", C2: "chan-C2-value" },
    mcp: { M0: "mcp-M0-value", M1: "mcp-M1-value" },
  };
}

async function runToCompletion(t: T, batchSize?: number) {
  await t.mutation(internal.secrets.rotation.start, { batchSize });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

describe("key rotation", () => {
  test("new key + old as previous → still decrypts; job moves every row; status 0; rerun is a no-op; old key removable", async () => {
    const t = newT();
    const A = randomKey();
    const B = randomKey();
    const s = await seed(t, A);
    expect(new Set((await allSecretRows(t)).map((r) => r.keyVersion))).toEqual(new Set([versionOf(A)]));

    setKeys(B, A);
    expect(await readAll(t, s)).toEqual(expectedAll(s));
    const before = await s.o.as.query(api.secrets.rotation.status, {});
    expect(before).toMatchObject({
      current: versionOf(B),
      previous: [versionOf(A)],
      remainingOnOldVersions: 12,
      byVersion: { [versionOf(A)]: 12 },
      unreadable: 0,
      capped: false,
    });

    await runToCompletion(t, 2); // small batches: several continuations per table
    const rows = await allSecretRows(t);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.keyVersion === versionOf(B))).toBe(true);
    expect(await s.o.as.query(api.secrets.rotation.status, {})).toMatchObject({
      remainingOnOldVersions: 0,
      byVersion: { [versionOf(B)]: 12 },
    });
    expect(await t.query(internal.secrets.rotation.globalStatus, {})).toMatchObject({ remainingOnOldVersions: 0 });
    expect(await readAll(t, s)).toEqual(expectedAll(s));

    // idempotent: another full pass changes nothing
    await runToCompletion(t);
    expect(await allSecretRows(t)).toEqual(rows);

    // converged: the previous key can go
    setKeys(B);
    expect(await readAll(t, s)).toEqual(expectedAll(s));
    // and without the re-encryption that would have failed:
    setKeys(A);
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: s.skillId, names: ["S0"] }),
      "SECRET_DECRYPT_FAILED",
    );
  });

  test("resumable: a run stopped after one batch converges when started again", async () => {
    const t = newT();
    const A = randomKey();
    const B = randomKey();
    const s = await seed(t, A);
    setKeys(B, A);
    const first = await t.mutation(internal.secrets.rotation.reencryptBatch, { table: "skillSecrets", batchSize: 3 });
    expect(first).toMatchObject({ scanned: 3, reencrypted: 3, failed: 0, next: { table: "skillSecrets" } });
    // kill: cancel the scheduled continuation
    await t.run(async (ctx) => {
      for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
        if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
      }
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const mid = await s.o.as.query(api.secrets.rotation.status, {});
    expect(mid.remainingOnOldVersions).toBe(9);
    expect(mid.byVersion).toEqual({ [versionOf(A)]: 9, [versionOf(B)]: 3 });
    expect(await readAll(t, s)).toEqual(expectedAll(s)); // mixed versions all decrypt

    await runToCompletion(t, 4);
    expect((await s.o.as.query(api.secrets.rotation.status, {})).remainingOnOldVersions).toBe(0);
    setKeys(B);
    expect(await readAll(t, s)).toEqual(expectedAll(s));
  });

  test("a second rotation (A → B → C) with two previous keys converges too", async () => {
    const t = newT();
    const [A, B, C] = [randomKey(), randomKey(), randomKey()];
    const s = await seed(t, A);
    setKeys(B, A);
    await t.mutation(internal.secrets.rotation.reencryptBatch, { table: "channelSecrets", batchSize: 50 });
    await t.run(async (ctx) => {
      for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
        if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
      }
    });
    setKeys(C, `${B},${A}`);
    const st = await s.o.as.query(api.secrets.rotation.status, {});
    expect(st.byVersion).toEqual({ [versionOf(A)]: 9, [versionOf(B)]: 3 });
    expect(st.remainingOnOldVersions).toBe(12);
    await runToCompletion(t);
    setKeys(C);
    expect(await readAll(t, s)).toEqual(expectedAll(s));
    expect((await s.o.as.query(api.secrets.rotation.status, {})).byVersion).toEqual({ [versionOf(C)]: 12 });
  });

  test("rows no configured key opens are left alone, counted as unreadable and logged", async () => {
    const t = newT();
    const A = randomKey();
    const B = randomKey();
    const s = await seed(t, A);
    setKeys(B); // A forgotten: nothing can be re-encrypted
    const st = await s.o.as.query(api.secrets.rotation.status, {});
    expect(st).toMatchObject({ remainingOnOldVersions: 12, unreadable: 12 });
    const rows = await allSecretRows(t);
    await runToCompletion(t);
    expect(await allSecretRows(t)).toEqual(rows); // untouched, so restoring A as previous still works
    expect(await securityEvents(t, "SECRET_DECRYPT_FAILED")).toHaveLength(12);
    setKeys(B, A);
    await runToCompletion(t);
    expect((await s.o.as.query(api.secrets.rotation.status, {})).remainingOnOldVersions).toBe(0);
  });

  test("status is per workspace, admin-only, and the job refuses to run without a key", async () => {
    const t = newT();
    const A = randomKey();
    const s = await seed(t, A);
    const other = await member(t, { workspace: "ws-other", role: "admin" });
    expect(await other.as.query(api.secrets.rotation.status, {})).toMatchObject({
      remainingOnOldVersions: 0,
      byVersion: {},
    });
    const viewer = await member(t, { role: "viewer" });
    await expectCode(viewer.as.query(api.secrets.rotation.status, {}), "FORBIDDEN");
    expect((await s.o.as.query(api.secrets.rotation.status, {})).byVersion).toEqual({ [versionOf(A)]: 12 });
    setKeys(undefined);
    await expectCode(t.mutation(internal.secrets.rotation.start, {}), "SECRET_KEY_UNAVAILABLE");
    await expectCode(s.o.as.query(api.secrets.rotation.status, {}), "SECRET_KEY_UNAVAILABLE");
  });
});
