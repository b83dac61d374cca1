// Uploads are bound to the person and workspace that asked for the upload URL: register claims and
// deletes only objects the caller can prove are theirs (skills/images.ts).
import { describe, expect, test, vi, afterEach } from "vitest";
import { readFileSync } from "node:fs";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import schema from "../../convex/schema";
import { STORAGE_REFERENCES, UPLOAD_GRANT_TTL_MS, MAX_OPEN_GRANTS } from "../../convex/skills/images";
import { expectCode, member, newT, type T } from "../harness";

const png = readFileSync(new URL("./fixtures/images/python.png", import.meta.url));
const notAnImage = new TextEncoder().encode("<svg onload=alert(1)>");

type Who = Awaited<ReturnType<typeof member>>;

async function sha256(bytes: Uint8Array): Promise<string> {
  return Buffer.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)))).toString("base64");
}
async function grant(who: Who, bytes: Uint8Array) {
  return await who.as.mutation(api.skills.images.generateUploadUrl, { sha256: await sha256(bytes) });
}
/** What an upload URL does: store the bytes (the storage id comes back to the uploader only). */
async function store(t: T, bytes: Uint8Array): Promise<Id<"_storage">> {
  return await t.run(async (ctx) => await ctx.storage.store(new Blob([new Uint8Array(bytes)], { type: "image/png" })));
}
async function exists(t: T, id: Id<"_storage">) {
  return (await t.run(async (ctx) => await ctx.db.system.get(id))) !== null;
}
async function setup() {
  const t = newT();
  const a = await member(t, { role: "admin", workspace: "ws-a" });
  const b = await member(t, { role: "admin", workspace: "ws-b" });
  return { t, a, b };
}

afterEach(() => vi.useRealTimers());

describe("image uploads are bound to who asked for the upload URL", () => {
  test("workspace B's admin can neither claim nor delete workspace A's upload", async () => {
    const { t, a, b } = await setup();
    await grant(a, notAnImage);
    const hers = await store(t, notAnImage);
    // B without a grant, with a grant for other bytes, and with a grant issued after the upload.
    await expectCode(b.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    await grant(b, png);
    await expectCode(b.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    await grant(b, notAnImage);
    await expectCode(b.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    expect(await exists(t, hers)).toBe(true);
    // Its owner can: invalid → deleted and logged.
    expect(await a.as.action(api.skills.images.register, { storageId: hers })).toEqual({
      ok: false,
      code: "IMAGE_INVALID",
    });
    expect(await exists(t, hers)).toBe(false);
  });

  test("a valid image of A cannot be claimed by B, before or after A registers it", async () => {
    const { t, a, b } = await setup();
    await grant(a, png);
    const hers = await store(t, png);
    await grant(b, png); // issued after the upload: does not cover it
    await expectCode(b.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    expect(await a.as.action(api.skills.images.register, { storageId: hers })).toMatchObject({ ok: true });
    expect(await a.as.action(api.skills.images.register, { storageId: hers })).toMatchObject({ ok: true }); // idempotent
    await expectCode(b.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    const rows = await t.run(async (ctx) => await ctx.db.query("skillImages").collect());
    expect(rows.map((r) => r.workspaceId)).toEqual([a.workspaceId]);
  });

  test("another admin of the same workspace cannot claim a colleague's upload either", async () => {
    const { t, a } = await setup();
    const colleague = await member(t, { role: "admin", workspace: "ws-a" });
    await grant(a, notAnImage);
    const hers = await store(t, notAnImage);
    await expectCode(colleague.as.action(api.skills.images.register, { storageId: hers }), "FORBIDDEN");
    expect(await exists(t, hers)).toBe(true);
  });

  test("identical bytes under two people's grants: nobody can prove whose it is, nothing is deleted", async () => {
    const { t, a, b } = await setup();
    await grant(b, notAnImage); // B knows the digest and asked first
    await grant(a, notAnImage);
    const obj = await store(t, notAnImage);
    await expectCode(b.as.action(api.skills.images.register, { storageId: obj }), "FORBIDDEN");
    await expectCode(a.as.action(api.skills.images.register, { storageId: obj }), "FORBIDDEN");
    expect(await exists(t, obj)).toBe(true);
  });

  test("a stored invocation output is never claimed or deleted, even under a grant for its exact bytes", async () => {
    const { t, a, b } = await setup();
    const output = new TextEncoder().encode(JSON.stringify({ secretish: "x".repeat(5000) }));
    await grant(a, output);
    await grant(b, output);
    const out = await store(t, output);
    await t.run(async (ctx) => {
      await ctx.db.insert("invocationLog", {
        workspaceId: a.workspaceId,
        targetKind: "skill",
        targetName: "s",
        callerKind: "agent",
        code: "OK",
        allowed: true,
        durationMs: 1,
        inputBytes: 1,
        outputBytes: output.length,
        outputStorageId: out,
        at: Date.now(),
      });
    });
    await expectCode(b.as.action(api.skills.images.register, { storageId: out }), "FORBIDDEN");
    await expectCode(a.as.action(api.skills.images.register, { storageId: out }), "FORBIDDEN");
    expect(await exists(t, out)).toBe(true);
  });

  test("walking every storage id deletes nothing that is not the caller's", async () => {
    const { t, a, b } = await setup();
    await grant(a, notAnImage);
    const ids = [await store(t, notAnImage), await store(t, png), await store(t, new TextEncoder().encode("{}"))];
    for (const id of ids) {
      await b.as.action(api.skills.images.register, { storageId: id }).catch(() => undefined);
    }
    for (const id of ids) expect(await exists(t, id)).toBe(true);
  });

  test("a grant is single-use, bound to its digest, and expires", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-11-23T10:00:00Z"));
    const { t, a } = await setup();
    await grant(a, png);
    const first = await store(t, png);
    expect(await a.as.action(api.skills.images.register, { storageId: first })).toMatchObject({ ok: true });
    const second = await store(t, png); // same bytes, grant already used
    await expectCode(a.as.action(api.skills.images.register, { storageId: second }), "FORBIDDEN");
    await grant(a, png);
    vi.setSystemTime(Date.now() + UPLOAD_GRANT_TTL_MS + 1000);
    const late = await store(t, png);
    await expectCode(a.as.action(api.skills.images.register, { storageId: late }), "FORBIDDEN");
    await expectCode(a.as.mutation(api.skills.images.generateUploadUrl, { sha256: "not-a-digest" }), "ARGS_INVALID");
  });

  test("open grants per person are capped; viewers get none", async () => {
    const { t, a } = await setup();
    for (let i = 0; i < MAX_OPEN_GRANTS; i++) await grant(a, new TextEncoder().encode(`file ${i}`));
    await expectCode(grant(a, png), "RATE_LIMITED");
    const viewer = await member(t, { role: "viewer", workspace: "ws-a" });
    await expectCode(grant(viewer, png), "FORBIDDEN");
  });

  test("every schema field holding a storage id is checked before an upload is claimed", () => {
    const found: string[] = [];
    const walk = (table: string, path: string, val: any) => {
      if (!val || typeof val !== "object") return;
      if (val.kind === "id" && val.tableName === "_storage") found.push(`${table}.${path}`);
      if (val.kind === "object")
        for (const [k, f] of Object.entries(val.fields ?? {})) walk(table, path ? `${path}.${k}` : k, f);
      if (val.kind === "array") walk(table, path, val.element);
      if (val.kind === "union") for (const m of val.members ?? []) walk(table, path, m);
      if (val.kind === "record") walk(table, path, val.value);
    };
    for (const [name, def] of Object.entries((schema as any).tables)) walk(name, "", (def as any).validator);
    expect(found.sort()).toEqual(STORAGE_REFERENCES.map((r) => `${r.table}.${r.field}`).sort());
  });
});
