// Backup and restore of the embedded runtime's data directory (issue 20 item 5).
//
// A backup is a directory: `manifest.json` (format, engine versions, backup point, document counts per
// table, and the size + SHA-256 of every other file) plus the files a data directory needs to start:
//   online  (taken by the running runtime over the operator socket): `snapshot.json` of the state at one
//           commit (captured by reference in one synchronous step, so no later commit is in it and no
//           earlier one is missing; written only once that commit is fsynced) + the blobs of `storage/`
//           referenced at that point (taken from memory, so a later delete cannot remove them);
//   offline (no runtime holds the data dir; the CLI takes the LOCK meanwhile): the files as they are —
//           `snapshot.json`, `wal/*.log` (replayed at start) and `storage/`.
// Both add `owners.json` and `owner-bootstrap.done` when present. `keys.json` (the secret-encryption key
// and the built-in issuer's signing key) is left out unless asked (`includeKeys`); the manifest carries
// only a fingerprint of the keys, so a restore can check that the keys supplied are the right ones.
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { engineVersions, tableNameFromId, type Backend } from "./internals.js";
import { snapshotChunks, type Persistence } from "./persist.js";
import { keysPath, type LocalKeys } from "./keys.js";

export const BACKUP_FORMAT = "warden-runtime-backup";
export const BACKUP_VERSION = 1;
const MANIFEST = "manifest.json";
/** Data-dir files copied as they are (small configuration/markers). */
const EXTRA_FILES = ["owners.json", "owner-bootstrap.done"];
const SEG_RE = /^wal-\d{16}\.log$/;

export type ManifestFile = { path: string; size: number; sha256: string };
export type BackupManifest = {
  format: typeof BACKUP_FORMAT;
  version: number;
  mode: "online" | "offline";
  createdAt: string;
  engine: Record<string, string>;
  /** Log position of the backup point (online: every commit up to it, none after). */
  seq: number;
  lastCommitTs: string;
  /** Documents per component and table at the backup point (offline: in the snapshot; `walEntries` more are replayed at start). */
  documents: Record<string, Record<string, number>>;
  walEntries: number;
  blobs: number;
  keys: { included: boolean; fingerprint: string | null };
  files: ManifestFile[];
};

export class BackupError extends Error {
  constructor(
    readonly code:
      | "BAD_TARGET"
      | "IN_USE"
      | "CORRUPT"
      | "ENGINE_MISMATCH"
      | "KEYS_REQUIRED"
      | "KEYS_MISMATCH"
      | "NOT_EMPTY"
      | "NO_DATA",
    message: string,
  ) {
    super(message);
  }
}

/** A short, non-reversible fingerprint of the keys (no key material). */
export function keyFingerprint(keys: LocalKeys): string {
  return createHash("sha256")
    .update(
      `warden-keys-v1\n${keys.SKILL_SECRET_ENCRYPTION_KEY}\n${keys.ownerIssuerPrivateJwk.kid ?? ""}\n${keys.ownerIssuerPrivateJwk.x}\n${keys.ownerIssuerPrivateJwk.y}`,
    )
    .digest("hex")
    .slice(0, 24);
}

export function parseKeys(text: string, where: string): LocalKeys {
  let k: LocalKeys;
  try {
    k = JSON.parse(text) as LocalKeys;
  } catch {
    throw new BackupError("KEYS_REQUIRED", `${where} is not a keys file (JSON)`);
  }
  if (typeof k?.SKILL_SECRET_ENCRYPTION_KEY !== "string" || k.ownerIssuerPrivateJwk?.kty !== "EC")
    throw new BackupError("KEYS_REQUIRED", `${where} is not a Warden keys file`);
  return k;
}

/** The pid holding `<dataDir>/LOCK`, if that process is alive. */
export function lockHolder(dataDir: string): number | null {
  const file = join(dataDir, "LOCK");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8"));
  if (!pid || pid === process.pid) return pid === process.pid ? pid : null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}

/** Takes the data dir's LOCK for an offline operation (refused while a runtime holds it). */
function takeLock(dataDir: string): () => void {
  const holder = lockHolder(dataDir);
  if (holder !== null) throw new BackupError("IN_USE", `Data directory ${dataDir} is in use by process ${holder}`);
  const file = join(dataDir, "LOCK");
  if (existsSync(file)) unlinkSync(file); // left by a process that is gone
  const fd = openSync(file, "wx", 0o600);
  writeSync(fd, String(process.pid));
  closeSync(fd);
  return () => {
    try {
      if (readFileSync(file, "utf8") === String(process.pid)) unlinkSync(file);
    } catch {
      // gone
    }
  };
}

function fsyncPath(p: string) {
  const fd = openSync(p, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
const sha256 = (buf: Uint8Array) => createHash("sha256").update(buf).digest("hex");
const encodePath = (componentPath: string) => (componentPath === "" ? "_root" : encodeURIComponent(componentPath));

/** A fresh sibling directory to build into; renamed onto the target when complete. */
function stagingFor(target: string): string {
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const dir = join(parent, `.${basename(target)}.partial-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

function checkTarget(target: string) {
  if (!isAbsolute(target)) throw new BackupError("BAD_TARGET", `backup directory must be an absolute path: ${target}`);
  if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length > 0))
    throw new BackupError("NOT_EMPTY", `${target} exists and is not an empty directory`);
}

class Writer {
  readonly files: ManifestFile[] = [];
  constructor(readonly root: string) {}
  async put(rel: string, data: Uint8Array | string) {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    const file = join(this.root, rel);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const fh = await open(file, "w", 0o600);
    try {
      await fh.write(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.files.push({ path: rel.split(sep).join("/"), size: buf.length, sha256: sha256(buf) });
  }
  async stream(rel: string, chunks: Iterable<string>) {
    const file = join(this.root, rel);
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(file, "w", 0o600);
    try {
      for (const c of chunks) {
        const b = Buffer.from(c);
        hash.update(b);
        size += b.length;
        await fh.write(b);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.files.push({ path: rel, size, sha256: hash.digest("hex") });
  }
  finish(target: string, manifest: Omit<BackupManifest, "files">): BackupManifest {
    const full: BackupManifest = { ...manifest, files: this.files.sort((a, b) => a.path.localeCompare(b.path)) };
    writeFileSync(join(this.root, MANIFEST), `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
    fsyncPath(join(this.root, MANIFEST));
    for (const d of new Set(this.files.map((f) => dirname(join(this.root, f.path))))) fsyncPath(d);
    fsyncPath(this.root);
    if (existsSync(target)) rmdirSync(target); // only if still empty
    renameSync(this.root, target);
    fsyncPath(dirname(target));
    return full;
  }
}

async function copyExtras(w: Writer, dataDir: string, includeKeys: boolean): Promise<LocalKeys | null> {
  for (const name of EXTRA_FILES)
    if (existsSync(join(dataDir, name))) await w.put(name, readFileSync(join(dataDir, name)));
  const kp = keysPath(dataDir);
  const keys = existsSync(kp) ? parseKeys(readFileSync(kp, "utf8"), kp) : null;
  if (includeKeys) {
    if (!keys) throw new BackupError("KEYS_REQUIRED", `--include-keys: no keys file at ${kp}`);
    await w.put("keys.json", readFileSync(kp));
  }
  return keys;
}

/** Online backup, run inside the runtime: one consistent point, no pause of commits beyond one synchronous capture. */
export async function onlineBackup(
  target: string,
  rt: { dataDir: string; backend: Backend; persistence: Persistence },
  opts: { includeKeys?: boolean } = {},
): Promise<BackupManifest> {
  target = resolve(target);
  checkTarget(target);
  const rel = relative(rt.dataDir, target);
  if (!rel.startsWith("..") && !isAbsolute(rel))
    throw new BackupError("BAD_TARGET", "the backup directory must be outside the data directory");
  // The backup point: state, log position and blob contents, all in one synchronous step.
  const state = rt.backend.exportState();
  const seq = rt.persistence.lastSeq;
  const blobs: Array<{ path: string; id: string; blob: Blob }> = [];
  for (const path of rt.backend.componentPaths()) {
    for (const doc of rt.backend.storageDocs(path)) {
      const blob = rt.backend.getBlob(path, doc._id);
      if (blob) blobs.push({ path, id: doc._id, blob });
    }
  }
  // Back up only what is durable: wait until the backup point is fsynced in the log.
  await rt.persistence.sync();
  const documents: Record<string, Record<string, number>> = {};
  for (const [path, c] of Object.entries(state.components)) {
    const t: Record<string, number> = {};
    for (const d of c.documents) {
      const table = tableNameFromId(d._id) ?? "?";
      t[table] = (t[table] ?? 0) + 1;
    }
    documents[path] = t;
  }
  const staging = stagingFor(target);
  try {
    const w = new Writer(staging);
    await w.stream("snapshot.json", snapshotChunks(state, seq));
    for (const b of blobs)
      await w.put(`storage/${encodePath(b.path)}/${b.id}`, new Uint8Array(await b.blob.arrayBuffer()));
    mkdirSync(join(staging, "wal"), { mode: 0o700 });
    const keys = await copyExtras(w, rt.dataDir, opts.includeKeys ?? false);
    return w.finish(target, {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      mode: "online",
      createdAt: new Date().toISOString(),
      engine: engineVersions(),
      seq,
      lastCommitTs: state.lastCommitTs.toString(),
      documents,
      walEntries: 0,
      blobs: blobs.length,
      keys: { included: opts.includeKeys ?? false, fingerprint: keys ? keyFingerprint(keys) : null },
    });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Offline backup: the data dir's files as they are, with the LOCK held so no runtime starts meanwhile. */
export async function offlineBackup(
  dataDir: string,
  target: string,
  opts: { includeKeys?: boolean } = {},
): Promise<BackupManifest> {
  dataDir = resolve(dataDir);
  target = resolve(target);
  checkTarget(target);
  if (!existsSync(join(dataDir, "snapshot.json")) && !existsSync(join(dataDir, "wal")))
    throw new BackupError("NO_DATA", `${dataDir} holds no runtime data (no snapshot.json or wal/)`);
  const release = takeLock(dataDir);
  const staging = stagingFor(target);
  try {
    const w = new Writer(staging);
    const documents: Record<string, Record<string, number>> = {};
    let seq = 0;
    let lastCommitTs = "0";
    const snap = join(dataDir, "snapshot.json");
    if (existsSync(snap)) {
      const buf = readFileSync(snap);
      const text = buf.toString("utf8");
      const lines = text.split("\n");
      const head = JSON.parse(lines[0]);
      seq = head.seq;
      lastCommitTs = head.lastCommitTs;
      if (head.version === 1) {
        for (const [p, c] of Object.entries<any>(head.components))
          documents[p] = countTables(c.documents.map((d: any) => d._id));
      } else {
        for (const l of lines.slice(1)) {
          if (!l) continue;
          const row = JSON.parse(l) as { p: string; d: { _id: string } };
          const t = (documents[row.p] ??= {});
          const table = tableNameFromId(row.d._id) ?? "?";
          t[table] = (t[table] ?? 0) + 1;
        }
      }
      await w.put("snapshot.json", buf);
    }
    let walEntries = 0;
    mkdirSync(join(staging, "wal"), { mode: 0o700 });
    const walDir = join(dataDir, "wal");
    if (existsSync(walDir)) {
      for (const name of readdirSync(walDir)
        .filter((n) => SEG_RE.test(n))
        .sort()) {
        const buf = readFileSync(join(walDir, name));
        walEntries += buf.toString("utf8").split("\n").filter(Boolean).length;
        await w.put(`wal/${name}`, buf);
      }
    }
    let blobs = 0;
    const storage = join(dataDir, "storage");
    if (existsSync(storage)) {
      for (const comp of readdirSync(storage)) {
        if (!statSync(join(storage, comp)).isDirectory()) continue;
        for (const name of readdirSync(join(storage, comp))) {
          if (name.endsWith(".tmp")) continue;
          await w.put(`storage/${comp}/${name}`, readFileSync(join(storage, comp, name)));
          blobs++;
        }
      }
    }
    const keys = await copyExtras(w, dataDir, opts.includeKeys ?? false);
    return w.finish(target, {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      mode: "offline",
      createdAt: new Date().toISOString(),
      engine: engineVersions(),
      seq,
      lastCommitTs,
      documents,
      walEntries,
      blobs,
      keys: { included: opts.includeKeys ?? false, fingerprint: keys ? keyFingerprint(keys) : null },
    });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  } finally {
    release();
  }
}

function countTables(ids: string[]) {
  const t: Record<string, number> = {};
  for (const id of ids) {
    const table = tableNameFromId(id) ?? "?";
    t[table] = (t[table] ?? 0) + 1;
  }
  return t;
}

/** Reads the manifest and checks every file against it (size + SHA-256; nothing missing, nothing extra). */
export function verifyBackup(dir: string): BackupManifest {
  dir = resolve(dir);
  const mf = join(dir, MANIFEST);
  if (!existsSync(mf)) throw new BackupError("CORRUPT", `${dir} has no ${MANIFEST}`);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(mf, "utf8")) as BackupManifest;
  } catch {
    throw new BackupError("CORRUPT", `${mf} is not valid JSON`);
  }
  if (m.format !== BACKUP_FORMAT || m.version !== BACKUP_VERSION || !Array.isArray(m.files))
    throw new BackupError("CORRUPT", `${mf}: not a Warden runtime backup (format ${m.format} v${m.version})`);
  const listed = new Set<string>();
  for (const f of m.files) {
    if (typeof f.path !== "string" || f.path.startsWith("/") || f.path.split("/").includes(".."))
      throw new BackupError("CORRUPT", `manifest names a path outside the backup: ${f.path}`);
    const file = join(dir, f.path);
    if (!existsSync(file)) throw new BackupError("CORRUPT", `${f.path} is missing`);
    const buf = readFileSync(file);
    if (buf.length !== f.size || sha256(buf) !== f.sha256)
      throw new BackupError("CORRUPT", `${f.path} does not match its checksum in the manifest`);
    listed.add(f.path);
  }
  const walk = (rel: string): string[] =>
    readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const r = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? walk(r) : [r];
    });
  for (const f of walk(""))
    if (f !== MANIFEST && !listed.has(f)) throw new BackupError("CORRUPT", `${f} is not in the manifest`);
  if (m.keys.included !== listed.has("keys.json"))
    throw new BackupError("CORRUPT", "keys.json does not match the manifest");
  return m;
}

export type RestoreOptions = {
  /** A keys file to install as the restored data dir's keys.json (checked against the manifest's fingerprint). */
  keysFile?: string;
  /** Restore without keys (they come from the environment, or new ones are generated: old secrets then do not decrypt). */
  noKeys?: boolean;
  /** Replace a data dir that holds data (it is moved aside to `<dir>.before-restore-<time>`, never deleted). */
  force?: boolean;
  /** Accept a backup written by other convex/convex-test versions. */
  allowEngineUpgrade?: boolean;
};

export type RestoreResult = {
  manifest: BackupManifest;
  dataDir: string;
  keys: "from-backup" | "supplied" | "none";
  movedAside: string | null;
};

/** Restores a verified backup into `dataDir` (offline only: refused while a runtime holds the LOCK). */
export function restoreBackup(backup: string, dataDir: string, opts: RestoreOptions = {}): RestoreResult {
  backup = resolve(backup);
  dataDir = resolve(dataDir);
  const m = verifyBackup(backup);
  const have = engineVersions() as Record<string, string>;
  const diff = Object.keys(have).filter((k) => m.engine[k] !== have[k]);
  if (diff.length && !opts.allowEngineUpgrade)
    throw new BackupError(
      "ENGINE_MISMATCH",
      `the backup was written by ${diff.map((k) => `${k} ${m.engine[k]}`).join(", ")}; installed: ${diff.map((k) => `${k} ${have[k]}`).join(", ")}. Restore with the same versions, or pass --allow-engine-upgrade (then start once with WARDEN_ALLOW_ENGINE_UPGRADE=1).`,
    );
  let keys: RestoreResult["keys"] = "none";
  let suppliedKeys: Buffer | null = null;
  if (opts.keysFile) {
    const buf = readFileSync(resolve(opts.keysFile));
    const k = parseKeys(buf.toString("utf8"), opts.keysFile);
    if (m.keys.fingerprint && keyFingerprint(k) !== m.keys.fingerprint)
      throw new BackupError(
        "KEYS_MISMATCH",
        `${opts.keysFile} holds other keys than the ones this backup's data was written with (fingerprint ${keyFingerprint(k)}, backup ${m.keys.fingerprint})`,
      );
    suppliedKeys = buf;
    keys = "supplied";
  } else if (m.keys.included) keys = "from-backup";
  else if (!opts.noKeys)
    throw new BackupError(
      "KEYS_REQUIRED",
      `this backup holds no keys (taken without --include-keys). Supply the keys file with --keys <file> (fingerprint ${m.keys.fingerprint ?? "unknown"}), or pass --no-keys to restore without them (secrets then decrypt only if SKILL_SECRET_ENCRYPTION_KEY is supplied another way).`,
    );

  const holder = existsSync(dataDir) ? lockHolder(dataDir) : null;
  if (holder !== null)
    throw new BackupError(
      "IN_USE",
      `Data directory ${dataDir} is in use by process ${holder}; stop that runtime first`,
    );
  let movedAside: string | null = null;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    if (!opts.force)
      throw new BackupError("NOT_EMPTY", `${dataDir} is not empty; pass --force to move it aside and restore`);
  }
  const staging = stagingFor(dataDir);
  try {
    for (const f of m.files) {
      const to = join(staging, f.path);
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      copyFileSync(join(backup, f.path), to);
      chmodSync(to, 0o600);
      fsyncPath(to);
    }
    mkdirSync(join(staging, "wal"), { recursive: true, mode: 0o700 });
    mkdirSync(join(staging, "storage"), { recursive: true, mode: 0o700 });
    if (suppliedKeys) writeFileSync(join(staging, "keys.json"), suppliedKeys, { mode: 0o600 });
    // Restored data and the LOCK check happen last, right before the data dir is swapped in.
    if (existsSync(dataDir) && lockHolder(dataDir) !== null)
      throw new BackupError("IN_USE", `Data directory ${dataDir} was taken by a runtime during the restore`);
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      movedAside = `${dataDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(dataDir, movedAside);
    } else if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(staging, dataDir);
    fsyncPath(dirname(dataDir));
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { manifest: m, dataDir, keys, movedAside };
}
