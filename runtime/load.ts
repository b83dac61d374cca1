// Bundles a convex/ folder (and the components its convex.config.ts installs) with esbuild and builds
// the module maps convex-test runs. npm packages stay external, so `convex` is the copy convex-test uses;
// the output lives under <project>/node_modules/.cache so those bare imports resolve.
import { build, type Plugin } from "esbuild";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
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
  for (const ext of ["", ".ts", ".js", ".mjs", ".tsx"]) if (existsSync(base + ext) && statSync(base + ext).isFile()) return base + ext;
  return null;
}

function cacheRoot(projectDir: string) {
  return join(projectDir, "node_modules", ".cache", "warden-runtime");
}

function removeStaleBuilds(root: string) {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const pid = Number(name.split("-")[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(root, name), { recursive: true, force: true });
  }
}

async function bundle(entries: Record<string, string>, outdir: string, plugins: Plugin[] = []) {
  if (Object.keys(entries).length === 0) return;
  try {
    await build({
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
    });
  } catch (e: any) {
    const details = (e.errors ?? []).map((m: any) => `  ${m.location?.file ?? ""}:${m.location?.line ?? ""} ${m.text}`).join("\n");
    throw new Error(`Could not bundle Convex functions:\n${details || e.message}`);
  }
}

const importFile = (file: string): ModuleLoader => () => import(pathToFileURL(file).href);

async function loadFolder(dir: string, outdir: string, extraEntries: Record<string, string> = {}) {
  const sources = listModules(dir);
  await bundle({ ...sources, ...extraEntries }, outdir);
  const files: Record<string, ModuleLoader> = {};
  for (const rel of Object.keys(sources)) files[rel] = importFile(join(outdir, `${rel}.js`));
  const schema = sources.schema ? ((await files.schema()).default ?? null) : null;
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
  constructor(private outDir: string) {}

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
          return { contents: `export default ${JSON.stringify({ componentDefinitionPath: dir, defaultName: def.name })};`, loader: "js" };
        });
      },
    };
  }

  describe(configFile: string): Promise<ComponentDef> {
    let p = this.memo.get(configFile);
    if (!p) {
      p = (async () => {
        const out = join(this.outDir, "_configs", String(this.n++));
        await bundle({ config: configFile }, out, [this.plugin()]);
        const def = (await import(pathToFileURL(join(out, "config.js")).href)).default;
        if (!def || !Array.isArray(def._childComponents)) throw new Error(`${configFile} does not export a component/app definition`);
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

export async function loadApp(convexDir: string): Promise<LoadedApp> {
  convexDir = resolve(convexDir);
  if (!existsSync(convexDir)) throw new Error(`Convex functions folder not found: ${convexDir}`);
  const projectDir = dirname(convexDir);
  if (!existsSync(join(projectDir, "node_modules"))) throw new Error(`${projectDir}/node_modules is missing (the bundle's npm imports resolve from there)`);
  const root = cacheRoot(projectDir);
  removeStaleBuilds(root);
  const outDir = join(root, `${process.pid}-${Date.now()}-${buildCounter++}`);
  mkdirSync(outDir, { recursive: true });
  const cleanup = () => rmSync(outDir, { recursive: true, force: true });
  try {
    const authFile = findFile(join(convexDir, "auth.config"));
    const { files, schema } = await loadFolder(convexDir, join(outDir, "app"), authFile ? { "auth.config": authFile } : {});
    const authConfig = authFile ? ((await import(pathToFileURL(join(outDir, "app", "auth.config.js")).href)).default ?? null) : null;

    const components: ComponentInfo[] = [];
    const appConfig = findFile(join(convexDir, "convex.config"));
    if (appConfig) {
      const walker = new ConfigWalker(outDir);
      const visit = async (configFile: string, parentPath: string) => {
        const def = await walker.describe(configFile);
        for (const child of def.children) {
          const path = parentPath ? `${parentPath}/${child.name}` : child.name;
          const childConfig = walker.configFor(child.dir);
          const loaded = await loadFolder(child.dir, join(outDir, "components", String(components.length)));
          components.push({ path, dir: child.dir, schema: loaded.schema, files: loaded.files });
          if (childConfig) await visit(childConfig, path);
        }
      };
      await visit(appConfig, "");
    }
    return { convexDir, projectDir, outDir, files, schema, authConfig, components, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
