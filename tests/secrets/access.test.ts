import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { newT, member, expectCode } from "../harness";
import { makeChannel, makeServer, makeSkill, randomKey, resetKeys, securityEvents, setKeys } from "./fixtures";

afterEach(resetKeys);

async function setup() {
  const t = newT();
  const o = await member(t);
  const skillA = await makeSkill(t, o.workspaceId, ["API_KEY", "OPTIONAL"], "a");
  const skillB = await makeSkill(t, o.workspaceId, ["B_TOKEN"], "b");
  await o.as.mutation(api.secrets.manage.setSkillSecret, {
    skillId: skillA,
    name: "API_KEY",
    value: "a-api-key-value-1111",
  });
  await o.as.mutation(api.secrets.manage.setSkillSecret, {
    skillId: skillB,
    name: "B_TOKEN",
    value: "b-token-value-2222",
  });
  return { t, o, skillA, skillB };
}

describe("secret read path isolation", () => {
  test("a skill reads only its declared secrets; declared-but-unset names are absent", async () => {
    const { t, skillA, skillB } = await setup();
    expect(
      await t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY", "OPTIONAL"] }),
    ).toEqual({
      API_KEY: "a-api-key-value-1111",
    });
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId: skillB, names: ["B_TOKEN"] })).toEqual({
      B_TOKEN: "b-token-value-2222",
    });
    expect(await securityEvents(t)).toEqual([]);
  });

  test("asking for another skill's secret → SECRET_ACCESS_DENIED and a security event", async () => {
    const { t, o, skillA } = await setup();
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY", "B_TOKEN"] }),
      "SECRET_ACCESS_DENIED",
    );
    const events = await securityEvents(t, "SECRET_ACCESS_DENIED");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ workspaceId: o.workspaceId, category: "secret", source: `skill:${skillA}` });
    expect(events[0].detail).toContain("reason=undeclared");
    expect(events[0].detail).toContain("names=B_TOKEN");
    expect(events[0].detail).not.toContain("value");
    const summary = await t.run(async (ctx) => ctx.db.query("securityEventSummary").collect());
    expect(summary.find((s) => s.code === "SECRET_ACCESS_DENIED")?.count).toBe(1);
  });

  test("declaring another skill's secret name does not reach that skill's row", async () => {
    const { t, skillA } = await setup();
    await t.run(async (ctx) => ctx.db.patch(skillA, { secretNames: ["API_KEY", "B_TOKEN"] }));
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["B_TOKEN"] })).toEqual(
      {},
    );
  });

  test("undeclared name of the skill itself → denied even though the row exists", async () => {
    const { t, o, skillA } = await setup();
    await o.as.mutation(api.secrets.manage.setSkillSecret, {
      skillId: skillA,
      name: "UNDECLARED",
      value: "undeclared-value-3333",
    });
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["UNDECLARED"] }),
      "SECRET_ACCESS_DENIED",
    );
    expect((await securityEvents(t, "SECRET_ACCESS_DENIED"))[0].detail).toContain("names=UNDECLARED");
  });

  test("malformed names and unknown owners are denied and logged", async () => {
    const { t, o, skillA } = await setup();
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY", "../x"] }),
      "SECRET_ACCESS_DENIED",
    );
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, {
        skillId: skillA,
        names: ["API_KEY", "sk-live-looks-like-a-value"],
      }),
      "SECRET_ACCESS_DENIED",
    );
    const ghost = await makeSkill(t, o.workspaceId, ["API_KEY"]);
    await t.run(async (ctx) => ctx.db.delete(ghost));
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: ghost, names: ["API_KEY"] }),
      "SECRET_ACCESS_DENIED",
    );
    const events = await securityEvents(t, "SECRET_ACCESS_DENIED");
    expect(events.map((e) => e.detail?.match(/reason=(\w+)/)?.[1])).toEqual([
      "invalid_name",
      "invalid_name",
      "owner_not_found",
    ]);
    for (const e of events) expect(e.detail).not.toContain("sk-live"); // invalid names are never echoed into logs
  });

  test("a ciphertext copied to another skill or name does not decrypt (fails closed, logged)", async () => {
    const { t, skillA, skillB } = await setup();
    await t.run(async (ctx) => {
      const b = (await ctx.db.query("skillSecrets").collect()).find((r) => r.skillId === skillB)!;
      const a = (await ctx.db.query("skillSecrets").collect()).find((r) => r.skillId === skillA)!;
      // overwrite A's API_KEY with B's ciphertext: same table, other owner and name
      await ctx.db.patch(a._id, { ciphertext: b.ciphertext, keyVersion: b.keyVersion });
      // and B's ciphertext under B's own id but another (declared) name
      await ctx.db.patch(skillB, { secretNames: ["B_TOKEN", "B_COPY"] });
      await ctx.db.insert("skillSecrets", { ...stripSystem(b), name: "B_COPY" });
    });
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY"] }),
      "SECRET_DECRYPT_FAILED",
    );
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillB, names: ["B_COPY"] }),
      "SECRET_DECRYPT_FAILED",
    );
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId: skillB, names: ["B_TOKEN"] })).toEqual({
      B_TOKEN: "b-token-value-2222",
    });
    expect(await securityEvents(t, "SECRET_DECRYPT_FAILED")).toHaveLength(2);
  });

  test("tampered ciphertext and an unknown key fail closed", async () => {
    const { t, skillA } = await setup();
    const original = await t.run(async (ctx) =>
      (await ctx.db.query("skillSecrets").collect()).find((r) => r.skillId === skillA)!,
    );
    const flipped =
      original.ciphertext.slice(0, 40) + (original.ciphertext[40] === "A" ? "B" : "A") + original.ciphertext.slice(41);
    await t.run(async (ctx) => ctx.db.patch(original._id, { ciphertext: flipped }));
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY"] }),
      "SECRET_DECRYPT_FAILED",
    );
    await t.run(async (ctx) => ctx.db.patch(original._id, { ciphertext: original.ciphertext }));
    setKeys(randomKey()); // the old key is gone
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY"] }),
      "SECRET_DECRYPT_FAILED",
    );
    setKeys(undefined);
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: skillA, names: ["API_KEY"] }),
      "SECRET_KEY_UNAVAILABLE",
    );
  });

  test("channel and MCP server reads are scoped to their own row", async () => {
    const t = newT();
    const o = await member(t);
    const ch1 = await makeChannel(t, o.workspaceId);
    const ch2 = await makeChannel(t, o.workspaceId);
    const srv1 = await makeServer(t, o.workspaceId);
    const srv2 = await makeServer(t, o.workspaceId);
    await o.as.mutation(api.secrets.manage.setChannelSecret, {
      channelId: ch2,
      name: "signingSecret",
      value: "ch2-signing-secret",
    });
    await o.as.mutation(api.secrets.manage.setMcpServerSecret, {
      serverId: srv2,
      name: "authToken",
      value: "srv2-auth-token",
    });
    expect(
      await t.action(internal.secrets.access.readChannelSecrets, { channelId: ch1, names: ["signingSecret"] }),
    ).toEqual({});
    expect(
      await t.action(internal.secrets.access.readMcpServerSecrets, { serverId: srv1, names: ["authToken"] }),
    ).toEqual({});
    // a row moved under channel 1 keeps channel 2's binding: it does not open
    await t.run(async (ctx) => {
      const row = (await ctx.db.query("channelSecrets").collect())[0];
      await ctx.db.insert("channelSecrets", { ...stripSystem(row), channelId: ch1 });
    });
    await expectCode(
      t.action(internal.secrets.access.readChannelSecrets, { channelId: ch1, names: ["signingSecret"] }),
      "SECRET_DECRYPT_FAILED",
    );
    expect(
      await t.action(internal.secrets.access.readChannelSecrets, { channelId: ch2, names: ["signingSecret"] }),
    ).toEqual({
      signingSecret: "ch2-signing-secret",
    });
    await expectCode(
      t.action(internal.secrets.access.readMcpServerSecrets, { serverId: srv2, names: ["bad name"] }),
      "SECRET_ACCESS_DENIED",
    );
    const denied = await securityEvents(t, "SECRET_ACCESS_DENIED");
    expect(denied[0].source).toBe(`mcpServer:${srv2}`);
  });
});

function stripSystem<T extends { _id: unknown; _creationTime: unknown }>(row: T): Omit<T, "_id" | "_creationTime"> {
  const { _id, _creationTime, ...rest } = row;
  return rest;
}
