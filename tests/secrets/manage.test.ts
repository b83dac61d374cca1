import { afterEach, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { newT, member, expectCode } from "../harness";
import { makeChannel, makeServer, makeSkill, allSecretRows, resetKeys, setKeys } from "./fixtures";

afterEach(resetKeys);

describe("secret management API", () => {
  test("round trip: set → masked list → internal read returns plaintext", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, ["API_KEY"]);
    const value = "sk-live-0123456789abcdefWXYZ";
    const set = await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "API_KEY", value });
    expect(set).toMatchObject({ name: "API_KEY", masked: "••••WXYZ" });
    const list = await o.as.query(api.secrets.manage.listSkillSecrets, { skillId });
    expect(list).toEqual([
      { name: "API_KEY", masked: "••••WXYZ", keyVersion: set.keyVersion, updatedAt: set.updatedAt },
    ]);
    expect(JSON.stringify(list)).not.toContain(value);
    const rows = await allSecretRows(t);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(value); // only ciphertext at rest
    const read = await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["API_KEY"] });
    expect(read).toEqual({ API_KEY: value });
  });

  test("replace keeps one row with the new value; delete removes it", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, ["TOKEN"]);
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "TOKEN", value: "first-value-1111" });
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "TOKEN", value: "second-value-2222" });
    expect(await o.as.query(api.secrets.manage.listSkillSecrets, { skillId })).toHaveLength(1);
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["TOKEN"] })).toEqual({
      TOKEN: "second-value-2222",
    });
    await o.as.mutation(api.secrets.manage.deleteSkillSecret, { skillId, name: "TOKEN" });
    expect(await o.as.query(api.secrets.manage.listSkillSecrets, { skillId })).toEqual([]);
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["TOKEN"] })).toEqual({});
    await expectCode(o.as.mutation(api.secrets.manage.deleteSkillSecret, { skillId, name: "TOKEN" }), "NOT_FOUND");
  });

  test("channel and MCP server secrets round trip", async () => {
    const t = newT();
    const o = await member(t);
    const channelId = await makeChannel(t, o.workspaceId);
    const serverId = await makeServer(t, o.workspaceId);
    await o.as.mutation(api.secrets.manage.setChannelSecret, {
      channelId,
      name: "webhookSecret",
      value: "tg-secret-token-ABCD",
    });
    await o.as.mutation(api.secrets.manage.setMcpServerSecret, {
      serverId,
      name: "authToken",
      value: "mcp-bearer-token-EFGH",
    });
    expect((await o.as.query(api.secrets.manage.listChannelSecrets, { channelId }))[0].masked).toBe("••••ABCD");
    expect((await o.as.query(api.secrets.manage.listMcpServerSecrets, { serverId }))[0].masked).toBe("••••EFGH");
    expect(await t.action(internal.secrets.access.readChannelSecrets, { channelId, names: ["webhookSecret"] })).toEqual(
      {
        webhookSecret: "tg-secret-token-ABCD",
      },
    );
    expect(await t.action(internal.secrets.access.readMcpServerSecrets, { serverId, names: ["authToken"] })).toEqual({
      authToken: "mcp-bearer-token-EFGH",
    });
    await o.as.mutation(api.secrets.manage.deleteChannelSecret, { channelId, name: "webhookSecret" });
    await o.as.mutation(api.secrets.manage.deleteMcpServerSecret, { serverId, name: "authToken" });
    expect(await allSecretRows(t)).toEqual([]);
  });

  test("masking edge cases through the API", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, []);
    const set = (name: string, value: string) =>
      o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name, value });
    await expectCode(set("EMPTY", ""), "ARGS_INVALID");
    expect((await set("THREE", "abc")).masked).toBe("••••");
    expect((await set("SEVEN", "abcdefg")).masked).toBe("••••");
    expect((await set("EIGHT", "abcdefgh")).masked).toBe("••••efgh");
    expect((await set("UNICODE", "pässwörd-🔑🔒é")).masked).toBe("••••-🔑🔒é");
    expect((await set("EMOJI7", "🔑🔑🔑🔑🔑🔑🔑")).masked).toBe("••••"); // 7 code points, 14 UTF-16 units
    const list = await o.as.query(api.secrets.manage.listSkillSecrets, { skillId });
    expect(Object.fromEntries(list.map((x: { name: string; masked: string }) => [x.name, x.masked]))).toEqual({
      EIGHT: "••••efgh",
      EMOJI7: "••••",
      SEVEN: "••••",
      THREE: "••••",
      UNICODE: "••••-🔑🔒é",
    });
  });

  test("name and value validation", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, []);
    const set = (name: string, value: string) =>
      o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name, value });
    for (const bad of ["", "has space", "dash-name", "a".repeat(65), "__proto__", "ünï", "x.y"]) {
      await expectCode(set(bad, "value-1234"), "ARGS_INVALID");
    }
    await expectCode(set("BIG", "x".repeat(8193)), "ARGS_INVALID");
    await expectCode(set("BIG", "é".repeat(4097)), "ARGS_INVALID"); // 8194 bytes in UTF-8
    expect((await set("MAX", "x".repeat(8192))).masked).toBe("••••xxxx");
    expect((await set("a".repeat(64), "v")).name).toBe("a".repeat(64));
    expect(await allSecretRows(t)).toHaveLength(2);
  });

  test("per-owner cap", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, []);
    await t.run(async (ctx) => {
      for (let i = 0; i < 50; i++) {
        await ctx.db.insert("skillSecrets", {
          workspaceId: o.workspaceId,
          skillId,
          name: `N${i}`,
          ciphertext: "x",
          keyVersion: "v",
          last4: "",
          createdAt: 0,
          updatedAt: 0,
        });
      }
    });
    await expectCode(
      o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "ONE_MORE", value: "v" }),
      "SECRET_LIMIT_REACHED",
    );
    expect(await o.as.query(api.secrets.manage.listSkillSecrets, { skillId })).toHaveLength(50);
  });

  test("viewer cannot set, delete or list; admin can list but not set", async () => {
    const t = newT();
    const o = await member(t);
    const viewer = await member(t, { role: "viewer" });
    const admin = await member(t, { role: "admin" });
    const skillId = await makeSkill(t, o.workspaceId, ["K"]);
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "owner-set-value" });
    await expectCode(
      viewer.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "viewer-value" }),
      "FORBIDDEN",
    );
    await expectCode(viewer.as.mutation(api.secrets.manage.deleteSkillSecret, { skillId, name: "K" }), "FORBIDDEN");
    await expectCode(viewer.as.query(api.secrets.manage.listSkillSecrets, { skillId }), "FORBIDDEN");
    await expectCode(
      admin.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "admin-value" }),
      "FORBIDDEN",
    );
    expect(await admin.as.query(api.secrets.manage.listSkillSecrets, { skillId })).toHaveLength(1);
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["K"] })).toEqual({
      K: "owner-set-value",
    });
  });

  test("another workspace cannot set, delete or list (FORBIDDEN)", async () => {
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    const skillId = await makeSkill(t, a.workspaceId, ["K"]);
    const channelId = await makeChannel(t, a.workspaceId);
    const serverId = await makeServer(t, a.workspaceId);
    await a.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "a-value-1234" });
    await expectCode(
      b.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "b-value" }),
      "FORBIDDEN",
    );
    await expectCode(b.as.mutation(api.secrets.manage.deleteSkillSecret, { skillId, name: "K" }), "FORBIDDEN");
    await expectCode(b.as.query(api.secrets.manage.listSkillSecrets, { skillId }), "FORBIDDEN");
    await expectCode(
      b.as.mutation(api.secrets.manage.setChannelSecret, { channelId, name: "K", value: "b-value" }),
      "FORBIDDEN",
    );
    await expectCode(b.as.query(api.secrets.manage.listChannelSecrets, { channelId }), "FORBIDDEN");
    await expectCode(
      b.as.mutation(api.secrets.manage.setMcpServerSecret, { serverId, name: "K", value: "b-value" }),
      "FORBIDDEN",
    );
    await expectCode(b.as.query(api.secrets.manage.listMcpServerSecrets, { serverId }), "FORBIDDEN");
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["K"] })).toEqual({
      K: "a-value-1234",
    });
    expect(await allSecretRows(t)).toHaveLength(1);
  });

  test("every write and delete is audited by name, never by value", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, []);
    const value = "audit-canary-secret-QQQQ";
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value });
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: value + "2" });
    await o.as.mutation(api.secrets.manage.deleteSkillSecret, { skillId, name: "K" });
    const audit = await t.run(async (ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((a) => a.action)).toEqual(["secret.set", "secret.replace", "secret.delete"]);
    for (const a of audit) {
      expect(a.target).toBe(`skill:${skillId}/K`);
      expect(a.actorId).toBe(o.ownerId);
      expect(JSON.stringify(a)).not.toContain("audit-canary");
      expect(JSON.stringify(a)).not.toContain("QQQQ");
    }
  });

  test("missing or invalid key → SECRET_KEY_UNAVAILABLE, nothing stored", async () => {
    const t = newT();
    const o = await member(t);
    const skillId = await makeSkill(t, o.workspaceId, ["K"]);
    for (const key of [undefined, "", "not-a-key", "c2hvcnQ="]) {
      setKeys(key);
      let err: any;
      try {
        await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "K", value: "value-1234" });
      } catch (e) {
        err = e;
      }
      expect(err?.data).toEqual({ code: "SECRET_KEY_UNAVAILABLE" }); // code only: no message, no stack
    }
    expect(await allSecretRows(t)).toEqual([]);
  });

  test("purgeOwnerSecrets removes one owner's secrets only", async () => {
    const t = newT();
    const o = await member(t);
    const s1 = await makeSkill(t, o.workspaceId, []);
    const s2 = await makeSkill(t, o.workspaceId, []);
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId: s1, name: "A", value: "aaaa-1111" });
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId: s1, name: "B", value: "bbbb-2222" });
    await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId: s2, name: "A", value: "cccc-3333" });
    expect(await t.mutation(internal.secrets.manage.purgeOwnerSecrets, { table: "skillSecrets", ownerId: s1 })).toEqual(
      { deleted: 2 },
    );
    const rows = await allSecretRows(t);
    expect(rows.map((r) => r.skillId)).toEqual([s2]);
  });
});
