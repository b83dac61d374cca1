import { afterEach, describe, expect, test, vi } from "vitest";
import { makeFunctionReference } from "convex/server";
import { api, internal } from "../../convex/_generated/api";
import schema from "../../convex/schema";
import { newT, member, expectCode, type T } from "../harness";
import { allSecretRows, makeChannel, makeServer, makeSkill, randomKey, resetKeys, setKeys } from "./fixtures";

afterEach(() => {
  vi.useRealTimers();
  resetKeys();
});

const SECRET_MODULES = import.meta.glob("../../convex/secrets/*.ts", { eager: true }) as Record<
  string,
  Record<string, any>
>;

function publicExports() {
  const out: { path: string; name: string; kind: "query" | "mutation" | "action" }[] = [];
  for (const [file, mod] of Object.entries(SECRET_MODULES)) {
    const module = file.replace(/^.*\/convex\//, "").replace(/\.ts$/, "");
    for (const [name, fn] of Object.entries(mod)) {
      if (!fn || !fn.isPublic) continue;
      const kind = fn.isQuery ? "query" : fn.isMutation ? "mutation" : "action";
      out.push({ path: `${module}:${name}`, name, kind });
    }
  }
  return out;
}

function canary() {
  return `canary-${crypto.randomUUID()}-Zq9`;
}

/** Every way the canary or its sealed form could show up in serialized output. */
function leaks(text: string, plain: string[], sealed: string[]): string[] {
  const found: string[] = [];
  for (const p of plain) {
    if (text.includes(p)) found.push("plaintext");
    if (text.includes(p.slice(0, 16))) found.push("plaintext prefix");
    if (text.includes(btoa(p))) found.push("base64 plaintext");
  }
  for (const c of sealed) {
    if (text.includes(c)) found.push("ciphertext");
    if (text.includes(c.slice(0, 32))) found.push("nonce");
  }
  return found;
}

async function seedCanaries(t: T) {
  const o = await member(t);
  const skillId = await makeSkill(t, o.workspaceId, ["CANARY"]);
  const channelId = await makeChannel(t, o.workspaceId);
  const serverId = await makeServer(t, o.workspaceId);
  const values = { skill: canary(), channel: canary(), mcp: canary() };
  await o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "CANARY", value: values.skill });
  await o.as.mutation(api.secrets.manage.setChannelSecret, { channelId, name: "CANARY", value: values.channel });
  await o.as.mutation(api.secrets.manage.setMcpServerSecret, { serverId, name: "CANARY", value: values.mcp });
  return { o, skillId, channelId, serverId, values };
}

describe("no function hands plaintext or ciphertext to a client", () => {
  test("every public export of convex/secrets/*, called as the owner, never returns the canary or its ciphertext", async () => {
    const t = newT();
    const { o, skillId, channelId, serverId, values } = await seedCanaries(t);
    const plain = Object.values(values);
    const sealed = (await allSecretRows(t)).map((r) => r.ciphertext);
    expect(sealed).toHaveLength(3);

    const other = "other-value-not-canary";
    const argsFor: Record<string, Record<string, unknown>> = {
      setSkillSecret: { skillId, name: "OTHER", value: other },
      setChannelSecret: { channelId, name: "OTHER", value: other },
      setMcpServerSecret: { serverId, name: "OTHER", value: other },
      listSkillSecrets: { skillId },
      listChannelSecrets: { channelId },
      listMcpServerSecrets: { serverId },
      status: {},
      deleteSkillSecret: { skillId, name: "OTHER" },
      deleteChannelSecret: { channelId, name: "OTHER" },
      deleteMcpServerSecret: { serverId, name: "OTHER" },
    };
    const fns = publicExports();
    const unknown = fns.filter((f) => !(f.name in argsFor)).map((f) => f.path);
    expect(unknown, "new public secrets function: add it to this test").toEqual([]);
    expect(fns.length).toBe(Object.keys(argsFor).length);

    const phase = (n: string) => (n.startsWith("set") ? 0 : n.startsWith("delete") ? 2 : 1);
    fns.sort((a, b) => phase(a.name) - phase(b.name));
    for (const f of fns) {
      const ref = makeFunctionReference<any>(f.path);
      const args = argsFor[f.name];
      const out =
        f.kind === "query"
          ? await o.as.query(ref, args)
          : f.kind === "mutation"
            ? await o.as.mutation(ref, args)
            : await o.as.action(ref, args);
      expect(leaks(JSON.stringify(out ?? null), plain, sealed), f.path).toEqual([]);
    }
    // lists really listed the canaries (masked), so the checks above were not vacuous
    const listed = await o.as.query(api.secrets.manage.listSkillSecrets, { skillId });
    expect(listed.map((x: { masked: string }) => x.masked)).toEqual(["••••" + values.skill.slice(-4)]);
  });

  test("errors never echo a submitted value", async () => {
    const t = newT();
    const { o, skillId } = await seedCanaries(t);
    const value = canary();
    for (const call of [
      () => o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "bad name", value }),
      () => o.as.mutation(api.secrets.manage.setSkillSecret, { skillId, name: "OK", value: value.repeat(400) }),
    ]) {
      let err: any;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect(err?.data?.code).toBe("ARGS_INVALID");
      expect(JSON.stringify(err.data) + String(err.message)).not.toContain(value);
    }
  });

  test("a canary set through the API never reaches a log table or any non-secret table after set/list/read/denial/rotation", async () => {
    vi.useFakeTimers();
    const t = newT();
    const A = process.env.SKILL_SECRET_ENCRYPTION_KEY!;
    const { o, skillId, channelId, serverId, values } = await seedCanaries(t);
    const sealedBefore = (await allSecretRows(t)).map((r) => r.ciphertext);

    await o.as.query(api.secrets.manage.listSkillSecrets, { skillId });
    await o.as.query(api.secrets.manage.listChannelSecrets, { channelId });
    await o.as.query(api.secrets.manage.listMcpServerSecrets, { serverId });
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["CANARY"] })).toEqual({
      CANARY: values.skill,
    });
    await t.action(internal.secrets.access.readChannelSecrets, { channelId, names: ["CANARY"] });
    await t.action(internal.secrets.access.readMcpServerSecrets, { serverId, names: ["CANARY"] });
    // denial, with the canary value passed where a name belongs
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId, names: [values.skill] }),
      "SECRET_ACCESS_DENIED",
    );
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["CANARY", "NOPE"] }),
      "SECRET_ACCESS_DENIED",
    );
    // rotation, including a row that fails to decrypt
    const otherSkill = await makeSkill(t, o.workspaceId, ["CANARY"]);
    await t.run(async (ctx) => {
      const row = (await ctx.db.query("skillSecrets").collect())[0];
      const { _id, _creationTime, ...rest } = row;
      await ctx.db.insert("skillSecrets", { ...rest, skillId: otherSkill });
    });
    await expectCode(
      t.action(internal.secrets.access.readSkillSecrets, { skillId: otherSkill, names: ["CANARY"] }),
      "SECRET_DECRYPT_FAILED",
    );
    setKeys(randomKey(), A);
    await t.mutation(internal.secrets.rotation.start, { batchSize: 1 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await o.as.query(api.secrets.rotation.status, {});
    await t.query(internal.secrets.rotation.globalStatus, {});
    expect(await t.action(internal.secrets.access.readSkillSecrets, { skillId, names: ["CANARY"] })).toEqual({
      CANARY: values.skill,
    });
    // replace and delete
    await o.as.mutation(api.secrets.manage.setChannelSecret, { channelId, name: "CANARY", value: canary() });
    await o.as.mutation(api.secrets.manage.deleteMcpServerSecret, { serverId, name: "CANARY" });

    const sealedAfter = (await allSecretRows(t)).map((r) => r.ciphertext);
    const secretTables = new Set(["skillSecrets", "channelSecrets", "mcpServerSecrets"]);
    const dump = await t.run(async (ctx) => {
      const out: Record<string, string> = {};
      for (const table of Object.keys(schema.tables))
        out[table] = JSON.stringify(await ctx.db.query(table as any).collect());
      out._scheduled_functions = JSON.stringify(await ctx.db.system.query("_scheduled_functions").collect());
      return out;
    });
    // the log tables were really written to, so the scan below is not vacuous
    for (const table of ["securityEvents", "auditLog"])
      expect(JSON.parse(dump[table]).length, table).toBeGreaterThan(0);
    for (const [table, text] of Object.entries(dump)) {
      if (secretTables.has(table)) {
        expect(leaks(text, Object.values(values), []), table).toEqual([]); // ciphertext only at rest
      } else {
        expect(leaks(text, Object.values(values), [...sealedBefore, ...sealedAfter]), table).toEqual([]);
      }
    }
  });
});
