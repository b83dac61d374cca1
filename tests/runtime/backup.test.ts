// @vitest-environment node
// Backup and restore (issue 20 item 5): `npm run warden -- backup <dir>` takes a consistent point-in-time
// copy through the running runtime while writes go on; `restore` verifies checksums, refuses a locked data
// dir, a tampered backup, another engine version and missing/wrong keys; the restored runtime holds exactly
// the data as of the backup point and the secrets still decrypt; keys stay out unless --include-keys.
import { afterAll, describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { api } from "../../runtime/fixtures/app/convex/_generated/api.js";
import { REPO, startFixture, tempDir } from "./helpers.js";

const seal = makeFunctionReference<"mutation", { name: string; plaintext: string }, string>("vault:seal");
const openVault = makeFunctionReference<
  "query",
  Record<string, never>,
  Array<{ name: string; plaintext: string | null }>
>("vault:open");

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ["--import", "tsx", join(REPO, "scripts/warden.ts"), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (err += d));
  return new Promise((resolve) => p.on("close", (code) => resolve({ code, out, err })));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const dirs: string[] = [];
const mk = () => {
  const d = tempDir("warden-bk-");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("backup and restore", () => {
  test(
    "online backup while writes go on → restore → exactly the data of the backup point; refusals",
    { timeout: 120_000 },
    async () => {
      const dataDir = mk();
      const rt = await startFixture({ dataDir, limits: { newPerIpPerMinute: 1000 } });
      const http = new ConvexHttpClient(rt.url);
      let restored: Awaited<ReturnType<typeof startFixture>> | null = null;
      try {
        // Data of every kind: documents, a stored file, an encrypted secret.
        await http.mutation(seal, { name: "telegram", plaintext: "bot-token-1234567890" });
        const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 7, 7, 7, 42]);
        const up = await fetch(await http.mutation(api.files.uploadUrl, {}), { method: "POST", body: bytes });
        const { storageId } = (await up.json()) as { storageId: string };
        for (let i = 0; i < 20; i++) await http.mutation(api.messages.send, { author: "before", body: `b${i}` });

        // Two writers keep going (each one sequential, so what a consistent copy holds of each is a prefix).
        let stop = false;
        const acked: Record<string, string[]> = { w1: [], w2: [] };
        const writer = async (author: "w1" | "w2") => {
          for (let i = 0; !stop; i++) {
            await http.mutation(api.messages.send, { author, body: `${author}-${i}` });
            acked[author].push(`${author}-${i}`);
          }
        };
        const writers = [writer("w1"), writer("w2")];
        await new Promise((r) => setTimeout(r, 300));
        const ackedBefore = { w1: acked.w1.length, w2: acked.w2.length };
        const backupDir = join(mk(), "bk");
        const bk = await cli(["backup", backupDir], { WARDEN_DATA_DIR: dataDir });
        expect(bk.code, bk.err).toBe(0);
        expect(bk.out).toContain("Backup (online)");
        expect(bk.out).toContain("Keys are NOT in this backup");
        const ackedAfter = { w1: acked.w1.length, w2: acked.w2.length };
        await new Promise((r) => setTimeout(r, 300)); // writes continue after the backup point
        stop = true;
        await Promise.all(writers);
        expect(acked.w1.length).toBeGreaterThan(ackedAfter.w1);

        const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8"));
        expect(manifest).toMatchObject({
          format: "warden-runtime-backup",
          mode: "online",
          keys: { included: false },
          blobs: 1,
        });
        expect(manifest.keys.fingerprint).toMatch(/^[0-9a-f]{24}$/);
        expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(
          expect.arrayContaining(["snapshot.json", `storage/_root/${storageId}`]),
        );
        expect(manifest.files.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);

        // No key material in a backup taken without --include-keys.
        const keysText = readFileSync(join(dataDir, "keys.json"), "utf8");
        const keys = JSON.parse(keysText);
        const needles = [
          keys.SKILL_SECRET_ENCRYPTION_KEY,
          Buffer.from(keys.SKILL_SECRET_ENCRYPTION_KEY, "base64").toString("hex"),
          keys.ownerIssuerPrivateJwk.d,
          "SKILL_SECRET_ENCRYPTION_KEY",
        ];
        const files = filesUnder(backupDir);
        expect(files.some((f) => f.endsWith("keys.json"))).toBe(false);
        for (const f of files) {
          const text = readFileSync(f).toString("latin1");
          for (const n of needles) expect(text.includes(n), `${f} contains key material`).toBe(false);
        }

        // Restoring over the data dir of the running runtime is refused (its LOCK is held).
        const keysFile = join(mk(), "keys.json");
        writeFileSync(keysFile, keysText, { mode: 0o600 });
        const locked = await cli(["restore", backupDir, "--data-dir", dataDir, "--keys", keysFile, "--force"]);
        expect(locked.code).toBe(3);
        expect(locked.err).toContain("in use by process");

        // Keys: required, and must be the backup's.
        const target = join(mk(), "restored");
        const noKeys = await cli(["restore", backupDir, "--data-dir", target]);
        expect(noKeys.code).toBe(1);
        expect(noKeys.err).toContain("KEYS_REQUIRED");
        const wrongKeys = join(mk(), "other-keys.json");
        writeFileSync(
          wrongKeys,
          JSON.stringify({ ...keys, SKILL_SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") }),
        );
        const mismatch = await cli(["restore", backupDir, "--data-dir", target, "--keys", wrongKeys]);
        expect(mismatch.code).toBe(1);
        expect(mismatch.err).toContain("KEYS_MISMATCH");

        // Tampered backups are refused: a changed byte, an added file, another engine version.
        const tampered = join(mk(), "tampered");
        cpSync(backupDir, tampered, { recursive: true });
        const blobFile = join(tampered, "storage", "_root", storageId);
        const b = readFileSync(blobFile);
        b[b.length - 1] ^= 1;
        writeFileSync(blobFile, b);
        const t1 = await cli(["restore", tampered, "--data-dir", join(mk(), "t1"), "--keys", keysFile]);
        expect(t1.code).toBe(1);
        expect(t1.err).toContain("does not match its checksum");
        const snapTampered = join(mk(), "tampered2");
        cpSync(backupDir, snapTampered, { recursive: true });
        writeFileSync(
          join(snapTampered, "snapshot.json"),
          readFileSync(join(snapTampered, "snapshot.json"), "utf8").replace("b19", "bX9"),
        );
        expect(
          (await cli(["restore", snapTampered, "--data-dir", join(mk(), "t2"), "--keys", keysFile])).err,
        ).toContain("snapshot.json does not match its checksum");
        const extra = join(mk(), "extra");
        cpSync(backupDir, extra, { recursive: true });
        writeFileSync(join(extra, "wal", "wal-0000000000000001.log"), "x\n");
        expect((await cli(["restore", extra, "--data-dir", join(mk(), "t3"), "--keys", keysFile])).err).toContain(
          "is not in the manifest",
        );
        const engine = join(mk(), "engine");
        cpSync(backupDir, engine, { recursive: true });
        writeFileSync(
          join(engine, "manifest.json"),
          JSON.stringify({ ...manifest, engine: { ...manifest.engine, "convex-test": "0.0.1" } }),
        );
        const eng = await cli(["restore", engine, "--data-dir", join(mk(), "t4"), "--keys", keysFile]);
        expect(eng.code).toBe(1);
        expect(eng.err).toContain("ENGINE_MISMATCH");

        // The real restore, with the keys supplied separately.
        const ok = await cli(["restore", backupDir, "--data-dir", target, "--keys", keysFile]);
        expect(ok.code, ok.err).toBe(0);
        expect(statSync(target).mode & 0o777).toBe(0o700);
        expect(statSync(join(target, "keys.json")).mode & 0o777).toBe(0o600);
        await rt.stop(); // one runtime per process at a time (convex-test's global syscall object)

        restored = await startFixture({ dataDir: target, limits: { newPerIpPerMinute: 1000 } });
        const http2 = new ConvexHttpClient(restored.url);
        const bodies = async (author: string) =>
          (await http2.query(api.messages.byAuthor, { author })).map((m) => m.body);
        expect(await bodies("before")).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
        for (const w of ["w1", "w2"] as const) {
          const got = await bodies(w);
          // Exactly a prefix of what was acknowledged: nothing missing in between, nothing from after the point.
          expect(got).toEqual(acked[w].slice(0, got.length));
          expect(got.length).toBeGreaterThanOrEqual(ackedBefore[w]);
          expect(got.length).toBeLessThanOrEqual(ackedAfter[w] + 1);
          expect(got.length).toBeLessThan(acked[w].length);
        }
        const counts = manifest.documents[""];
        expect(counts.messages).toBe(
          (await bodies("before")).length + (await bodies("w1")).length + (await bodies("w2")).length + 1,
        );
        // Secrets still decrypt with the supplied keys; the stored file is back byte for byte.
        expect(await http2.query(openVault, {})).toEqual([{ name: "telegram", plaintext: "bot-token-1234567890" }]);
        const fileUrl = await http2.query(api.files.url, { id: storageId as any });
        expect(new Uint8Array(await (await fetch(fileUrl!)).arrayBuffer())).toEqual(bytes);
        // New writes continue after the restored ids.
        await http2.mutation(api.messages.send, { author: "after", body: "a0" });
        expect(await bodies("after")).toEqual(["a0"]);
      } finally {
        await restored?.stop();
        await rt.stop();
      }

      // Offline backup (no runtime holds the data dir), with --include-keys: restores without --keys.
      const offline = join(mk(), "offline");
      const off = await cli(["backup", offline, "--include-keys"], { WARDEN_DATA_DIR: dataDir });
      expect(off.code, off.err).toBe(0);
      expect(off.out).toContain("Backup (offline)");
      expect(off.out).toContain("contains keys.json");
      expect(existsSync(join(offline, "keys.json"))).toBe(true);
      expect(existsSync(join(dataDir, "LOCK"))).toBe(false);
      const target2 = join(mk(), "restored2");
      const r2 = await cli(["restore", offline, "--data-dir", target2]);
      expect(r2.code, r2.err).toBe(0);
      expect(r2.out).toContain("restored from the backup");
      const again = await startFixture({ dataDir: target2 });
      try {
        const http3 = new ConvexHttpClient(again.url);
        expect(await http3.query(openVault, {})).toEqual([{ name: "telegram", plaintext: "bot-token-1234567890" }]);
        expect((await http3.query(api.messages.byAuthor, { author: "before" })).length).toBe(20);
      } finally {
        await again.stop();
      }
    },
  );

  test(
    "keys kept outside the data dir (WARDEN_KEYS_FILE): online --include-keys copies them from there",
    { timeout: 60_000 },
    async () => {
      const dataDir = mk();
      const keysFile = join(mk(), "custody", "warden-keys.json");
      const rt = await startFixture({ dataDir, env: { WARDEN_KEYS_FILE: keysFile } });
      try {
        expect(existsSync(join(dataDir, "keys.json"))).toBe(false);
        expect(statSync(keysFile).mode & 0o777).toBe(0o600);
        await new ConvexHttpClient(rt.url).mutation(seal, { name: "k", plaintext: "v" });
        const plain = join(mk(), "plain");
        expect((await cli(["backup", plain], { WARDEN_DATA_DIR: dataDir, WARDEN_KEYS_FILE: keysFile })).code).toBe(0);
        expect(existsSync(join(plain, "keys.json"))).toBe(false);
        const withKeys = join(mk(), "with-keys");
        const r = await cli(["backup", withKeys, "--include-keys"], {
          WARDEN_DATA_DIR: dataDir,
          WARDEN_KEYS_FILE: keysFile,
        });
        expect(r.code, r.err).toBe(0);
        expect(r.out).toContain("Backup (online)");
        expect(readFileSync(join(withKeys, "keys.json"), "utf8")).toBe(readFileSync(keysFile, "utf8"));
        // A backup directory inside the data dir, or one that is not empty, is refused.
        expect((await cli(["backup", join(dataDir, "bk")], { WARDEN_DATA_DIR: dataDir })).err).toContain(
          "outside the data directory",
        );
        expect((await cli(["backup", withKeys], { WARDEN_DATA_DIR: dataDir })).err).toContain("not an empty directory");
      } finally {
        await rt.stop();
      }
    },
  );
});
