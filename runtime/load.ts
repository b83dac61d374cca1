// Bundles a convex/ folder (and the components its convex.config.ts installs) with esbuild and builds
// the module maps convex-test runs. npm packages stay external, so `convex` is the copy convex-test uses;
// the output lives under <project>/node_modules/.cache so those bare imports resolve.
//
// Builds are cached: a finished build is kept as `.cache/warden-runtime-builds/b-<hash>/` with a manifest of every file esbuild read
// (SHA-256 each) and the module lists; the next start reuses it when all of them are unchanged (a few
// milliseconds of hashing instead of ~0.3–0.8 s of bundling). Builds in use are marked per process.
import { build, version as esbuildVersion, type Metafile, type Plugin } from "esbuild";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModuleLoader } from "./internals.js";

export type ComponentInfo = { path: string; dir: string; schema: any | null; files: Record<string, ModuleLoader> };
export type LoadedApp = {
  convexDir: string;
  projectDir: string;
  outDir: string;
  files: Record<string, ModuleLoader>;
  schema: any | null;
  authConfig: { providers: any[] } | null;
  components: ComponentInfo[];
  /** The cached build used (`b-<hash>` folder), and whether this call had to run esbuild. */
  cache: { dir: string; built: boolean } | null;
  cleanup(): void;
};

const SOURCE_EXT = /\.(ts|tsx|js|mjs|jsx)$/;
const CONFIG_IMPORT = /(^|\/)convex\.config(\.[cm]?[jt]s)?$/;
let buildCounter = 0;

/** Module files of a functions folder, keyed by path without extension (Convex's rules). */
export function listModules(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name.startsWith(".") || name === "node_modules") continue;
      const full = join(d, name);
      if (statSync(full).isDirectory()) {
        if (relative(dir, full) !== "_generated") walk(full);
        continue;
      }
      if (!SOURCE_EXT.test(name) || name.endsWith(".d.ts") || name.includes(" ")) continue;
      // Convex skips names with more than one dot (tests, auth.config.ts, convex.config.ts).
      if (name.split(".").length > 2) continue;
      out[relative(dir, full).replace(SOURCE_EXT, "").split("\\").join("/")] = full;
    }
  };
  walk(dir);
  return out;
}

function findFile(base: string): string | null {
  for (const ext of ["", ".ts", ".js", ".mjs", ".tsx"])
    if (existsSync(base + ext) && statSync(base + ext).isFile()) return base + ext;
  return null;
}

/** Per-process staging builds (removed when their process is gone). */
function cacheRoot(projectDir: string) {
  return join(projectDir, "node_modules", ".cache", "warden-runtime");
}
/** Published builds and the pointers to them (a folder of their own: runtimes of older versions remove
 * whatever under cacheRoot is not named after a live process). */
function buildsRoot(projectDir: string) {
  return join(projectDir, "node_modules", ".cache", "warden-runtime-builds");
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Removes staging builds of dead processes. */
function removeStaleBuilds(root: string) {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    try {
      if (/^\d+-/.test(name) && !isAlive(Number(name.split("-")[0])))
        rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

/**
 * Removes cached builds that no pointer names and no live process uses (older than an hour, so a build
 * being published is never taken), and private copies of dead processes.
 */
function removeStaleCachedBuilds(root: string) {
  if (!existsSync(root)) return;
  const names = readdirSync(root);
  const pointed = new Set<string>();
  for (const name of names) {
    if (!name.startsWith("latest-") || !name.endsWith(".json")) continue;
    try {
      pointed.add(JSON.parse(readFileSync(join(root, name), "utf8")).dir);
    } catch {
      // being replaced
    }
  }
  for (const name of names) {
    const full = join(root, name);
    try {
      if (name.startsWith("b-")) {
        if (pointed.has(name) || Date.now() - statSync(full).mtimeMs < 3600_000) continue;
        const users = existsSync(join(full, "users")) ? readdirSync(join(full, "users")) : [];
        if (users.some((u) => isAlive(Number(u.split("-")[0])))) continue;
        rmSync(full, { recursive: true, force: true });
      } else if (/^\d+-/.test(name)) {
        if (!isAlive(Number(name.split("-")[0]))) rmSync(full, { recursive: true, force: true });
      }
    } catch {
      // removed by another process meanwhile
    }
  }
}

/** Every source file esbuild read, for the build cache (absolute paths). */
type Inputs = Set<string>;

function recordInputs(inputs: Inputs | null, meta: Metafile | undefined) {
  if (!inputs || !meta) return;
  for (const key of Object.keys(meta.inputs)) {
    const m = /^[\w-]+:(.*)$/.exec(key); // plugin namespaces ("warden-component:/abs/path")
    const file = resolve(process.cwd(), m ? m[1] : key);
    if (existsSync(file)) inputs.add(file);
  }
}

async function bundle(
  entries: Record<string, string>,
  outdir: string,
  plugins: Plugin[] = [],
  inputs: Inputs | null = null,
) {
  if (Object.keys(entries).length === 0) return;
  try {
    const result = await build({
      entryPoints: entries,
      outdir,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      packages: "external",
      chunkNames: "_chunks/[name]-[hash]",
      logLevel: "silent",
      plugins,
      metafile: true,
    });
    recordInputs(inputs, result.metafile);
  } catch (e: any) {
    const details = (e.errors ?? [])
      .map((m: any) => `  ${m.location?.file ?? ""}:${m.location?.line ?? ""} ${m.text}`)
      .join("\n");
    throw new Error(`Could not bundle Convex functions:\n${details || e.message}`);
  }
}

const importFile =
  (file: string): ModuleLoader =>
  () =>
    import(pathToFileURL(file).href);

async function loadFolder(
  dir: string,
  outdir: string,
  extraEntries: Record<string, string> = {},
  inputs: Inputs | null = null,
) {
  const sources = listModules(dir);
  await bundle({ ...sources, ...extraEntries }, outdir, [], inputs);
  return await openFolder(Object.keys(sources), outdir);
}

/** Module loaders (and the schema) of a bundled folder. */
async function openFolder(modules: string[], outdir: string) {
  const files: Record<string, ModuleLoader> = {};
  for (const rel of modules) files[rel] = importFile(join(outdir, `${rel}.js`));
  const schema = files.schema ? ((await files.schema()).default ?? null) : null;
  return { files, schema };
}

/** Resolve a convex.config import the way Node would (used for the component tree). */
function resolveConfigImport(spec: string, resolveDir: string): string | null {
  if (spec.startsWith(".") || spec.startsWith("/")) return findFile(resolve(resolveDir, spec));
  const req = createRequire(join(resolveDir, "noop.js"));
  for (const s of [spec, `${spec}.js`]) {
    try {
      return req.resolve(s);
    } catch {
      // try the next spelling
    }
  }
  return null;
}

type ComponentDef = { name: string; children: Array<{ name: string; dir: string }> };

/**
 * Evaluates convex.config files. Each imported child config becomes the stub the Convex bundler
 * produces (`{componentDefinitionPath, defaultName}`), so `app.use()` works outside Convex.
 */
class ConfigWalker {
  private memo = new Map<string, Promise<ComponentDef>>();
  private configByDir = new Map<string, string>();
  private n = 0;
  constructor(
    private outDir: string,
    private inputs: Inputs | null = null,
  ) {}

  private plugin(): Plugin {
    return {
      name: "warden-component-stubs",
      setup: (b) => {
        b.onResolve({ filter: CONFIG_IMPORT }, (args) => {
          if (args.kind === "entry-point") return undefined;
          const real = resolveConfigImport(args.path, args.resolveDir);
          if (!real) return { errors: [{ text: `cannot resolve component config "${args.path}"` }] };
          return { path: real, namespace: "warden-component" };
        });
        b.onLoad({ filter: /.*/, namespace: "warden-component" }, async (args) => {
          const def = await this.describe(args.path);
          const dir = dirname(args.path);
          this.configByDir.set(dir, args.path);
          return {
            contents: `export default ${JSON.stringify({ componentDefinitionPath: dir, defaultName: def.name })};`,
            loader: "js",
          };
        });
      },
    };
  }

  describe(configFile: string): Promise<ComponentDef> {
    let p = this.memo.get(configFile);
    if (!p) {
      p = (async () => {
        const out = join(this.outDir, "_configs", String(this.n++));
        await bundle({ config: configFile }, out, [this.plugin()], this.inputs);
        const def = (await import(pathToFileURL(join(out, "config.js")).href)).default;
        if (!def || !Array.isArray(def._childComponents))
          throw new Error(`${configFile} does not export a component/app definition`);
        return {
          name: def._name ?? "",
          children: def._childComponents.map((c: any[]) => ({ name: c[0], dir: c[1].componentDefinitionPath })),
        };
      })();
      this.memo.set(configFile, p);
    }
    return p;
  }

  configFor(dir: string) {
    return this.configByDir.get(dir) ?? null;
  }
}

/** What a cached build holds and what it was built from. */
type Manifest = {
  format: 1;
  esbuild: string;
  convexDir: string;
  /** absolute path → SHA-256 of every file esbuild read */
  inputs: Record<string, string>;
  app: { modules: string[]; auth: string | null; config: string | null };
  components: Array<{ path: string; dir: string; modules: string[] }>;
};

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const sameList = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().join("\0") === [...b].sort().join("\0");

/** A cached build is usable when every input and every folder's module list is unchanged. */
function manifestValid(m: Manifest, convexDir: string): boolean {
  try {
    if (m.format !== 1 || m.esbuild !== esbuildVersion || m.convexDir !== convexDir) return false;
    if (!sameList(m.app.modules, Object.keys(listModules(convexDir)))) return false;
    if ((findFile(join(convexDir, "auth.config")) ?? null) !== m.app.auth) return false;
    if ((findFile(join(convexDir, "convex.config")) ?? null) !== m.app.config) return false;
    for (const c of m.components) if (!sameList(c.modules, Object.keys(listModules(c.dir)))) return false;
    for (const [file, hash] of Object.entries(m.inputs)) if (!existsSync(file) || sha256(file) !== hash) return false;
    return true;
  } catch {
    return false;
  }
}

const pointerFile = (root: string, convexDir: string) =>
  join(root, `latest-${createHash("sha256").update(convexDir).digest("hex").slice(0, 16)}.json`);

/** Marks a cached build as used by this process (removed by cleanup; dead processes' marks are ignored). */
function markUse(dir: string): () => void {
  const users = join(dir, "users");
  mkdirSync(users, { recursive: true });
  const mark = join(users, `${process.pid}-${Date.now()}-${buildCounter++}`);
  writeFileSync(mark, "");
  return () => rmSync(mark, { force: true });
}

/** Cached builds this process has imported (ES modules are evaluated once per URL and process). */
const importedHere = new Set<string>();

async function openCached(
  cached: string,
  m: Manifest,
  convexDir: string,
  projectDir: string,
  built: boolean,
): Promise<LoadedApp> {
  let dir = cached;
  let cleanup = markUse(cached);
  if (importedHere.has(cached)) {
    // A second app instance in this process (tests) gets its own module instances, as a fresh build
    // would: a private copy of the cached files (milliseconds), removed by cleanup.
    const release = cleanup;
    dir = join(dirname(cached), `${process.pid}-${Date.now()}-${buildCounter++}`);
    cpSync(cached, dir, { recursive: true, filter: (src) => !src.startsWith(join(cached, "users")) });
    release();
    cleanup = () => rmSync(dir, { recursive: true, force: true });
  }
  importedHere.add(dir);
  const { files, schema } = await openFolder(m.app.modules, join(dir, "app"));
  const authConfig = m.app.auth
    ? ((await import(pathToFileURL(join(dir, "app", "auth.config.js")).href)).default ?? null)
    : null;
  const components: ComponentInfo[] = [];
  for (const [i, c] of m.components.entries()) {
    const loaded = await openFolder(c.modules, join(dir, "components", String(i)));
    components.push({ path: c.path, dir: c.dir, schema: loaded.schema, files: loaded.files });
  }
  return {
    convexDir,
    projectDir,
    outDir: dir,
    files,
    schema,
    authConfig,
    components,
    cache: { dir: cached, built },
    cleanup,
  };
}

export async function loadApp(convexDir: string, opts: { cache?: boolean } = {}): Promise<LoadedApp> {
  convexDir = resolve(convexDir);
  if (!existsSync(convexDir)) throw new Error(`Convex functions folder not found: ${convexDir}`);
  const projectDir = dirname(convexDir);
  if (!existsSync(join(projectDir, "node_modules")))
    throw new Error(`${projectDir}/node_modules is missing (the bundle's npm imports resolve from there)`);
  const root = cacheRoot(projectDir);
  removeStaleBuilds(root);
  const builds = buildsRoot(projectDir);
  removeStaleCachedBuilds(builds);
  const useCache = opts.cache ?? process.env.WARDEN_BUILD_CACHE !== "0";
  const pointer = pointerFile(builds, convexDir);
  if (useCache && existsSync(pointer)) {
    try {
      const dir = join(builds, JSON.parse(readFileSync(pointer, "utf8")).dir);
      const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
      if (manifestValid(m, convexDir)) {
        const release = markUse(dir);
        try {
          if (existsSync(join(dir, "manifest.json"))) return await openCached(dir, m, convexDir, projectDir, false);
        } finally {
          release();
        }
      }
    } catch {
      // unreadable or removed meanwhile: build
    }
  }
  const outDir = join(root, `${process.pid}-${Date.now()}-${buildCounter++}`);
  mkdirSync(outDir, { recursive: true });
  const cleanup = () => rmSync(outDir, { recursive: true, force: true });
  try {
    const inputs: Inputs = new Set();
    const authFile = findFile(join(convexDir, "auth.config"));
    const appModules = Object.keys(listModules(convexDir));
    const { files, schema } = await loadFolder(
      convexDir,
      join(outDir, "app"),
      authFile ? { "auth.config": authFile } : {},
      inputs,
    );
    const authConfig = authFile
      ? ((await import(pathToFileURL(join(outDir, "app", "auth.config.js")).href)).default ?? null)
      : null;

    const components: ComponentInfo[] = [];
    const componentModules: string[][] = [];
    const appConfig = findFile(join(convexDir, "convex.config"));
    if (appConfig) {
      const walker = new ConfigWalker(outDir, inputs);
      const visit = async (configFile: string, parentPath: string) => {
        const def = await walker.describe(configFile);
        for (const child of def.children) {
          const path = parentPath ? `${parentPath}/${child.name}` : child.name;
          const childConfig = walker.configFor(child.dir);
          componentModules.push(Object.keys(listModules(child.dir)));
          const loaded = await loadFolder(child.dir, join(outDir, "components", String(components.length)), {}, inputs);
          components.push({ path, dir: child.dir, schema: loaded.schema, files: loaded.files });
          if (childConfig) await visit(childConfig, path);
        }
      };
      await visit(appConfig, "");
    }
    if (!useCache)
      return { convexDir, projectDir, outDir, files, schema, authConfig, components, cache: null, cleanup };
    // Keep the build for the next start: publish it under its content hash, then point at it.
    const manifest: Manifest = {
      format: 1,
      esbuild: esbuildVersion,
      convexDir,
      inputs: Object.fromEntries([...inputs].sort().map((f) => [f, sha256(f)])),
      app: { modules: appModules, auth: authFile, config: appConfig },
      components: components.map((c, i) => ({ path: c.path, dir: c.dir, modules: componentModules[i] })),
    };
    writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest));
    const key = createHash("sha256").update(JSON.stringify(manifest)).digest("hex").slice(0, 20);
    const published = join(builds, `b-${key}`);
    try {
      mkdirSync(builds, { recursive: true });
      if (!existsSync(published)) renameSync(outDir, published);
    } catch {
      // another process published the same build meanwhile
    }
    if (!existsSync(join(published, "manifest.json")))
      return { convexDir, projectDir, outDir, files, schema, authConfig, components, cache: null, cleanup };
    cleanup(); // our staging copy, when an identical build was there already
    const tmp = `${pointer}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ dir: `b-${key}` }));
    renameSync(tmp, pointer);
    // The module loaders point into the staging path; reopen from the published one.
    return await openCached(published, manifest, convexDir, projectDir, true);
  } catch (e) {
    cleanup();
    throw e;
  }
}
