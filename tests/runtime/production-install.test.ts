// @vitest-environment node
// Production install (issue 20.2): `npm ci --omit=dev && npm start` works. Every package the start
// path imports is a dependency, and `npm start` runs in a copy of the project whose node_modules holds
// only what `--omit=dev` installs (read from package-lock.json): it builds SyncBoard with the installed
// Vite, serves it and answers /health.
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { builtinModules } from "node:module";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { TEST_ENV } from "../env.js";
import { REPO, tempDir } from "./helpers.js";

const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
  packages: Record<string, { dev?: boolean; bin?: Record<string, string> | string }>;
};

function files(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (name === "node_modules" || name === "fixtures" || name === "_generated") continue;
    if (statSync(full).isDirectory()) out.push(...files(full, keep));
    else if (keep(full)) out.push(full);
  }
  return out;
}

/** Bare package names a file imports at run time (type-only imports are erased). */
function runtimeImports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']/gm))
    specs.push(m[1]);
  for (const m of src.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]);
  return specs
    .filter((s) => !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("node:") && !builtinModules.includes(s))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]));
}

const isSource = (f: string) => /\.(ts|tsx|mjs|js)$/.test(f) && !/\.test\.tsx?$/.test(f) && !f.endsWith(".d.ts");

describe("production install", () => {
  it("every package the start path imports is a dependency, not a devDependency", () => {
    // runtime/ (npm start), vite.config.ts (SyncBoard build), the operator CLI, convex/ (the functions the runtime bundles), src/ (SyncBoard).
    const sources = [
      ...files(join(REPO, "runtime"), isSource),
      join(REPO, "vite.config.ts"),
      join(REPO, "scripts", "warden.ts"), // `npm run warden`, the operator CLI
      ...files(join(REPO, "convex"), isSource),
      ...files(join(REPO, "src"), isSource),
    ];
    const missing = new Set<string>();
    for (const f of sources)
      for (const name of runtimeImports(f))
        if (!(name in pkg.dependencies)) missing.add(`${name} (${relative(REPO, f)})`);
    expect([...missing]).toEqual([]);
    // The runtime's own imports are found (guards the scan itself).
    const rt = new Set(files(join(REPO, "runtime"), isSource).flatMap(runtimeImports));
    for (const name of ["esbuild", "ws", "cron-parser", "convex-test", "jose"]) expect(rt).toContain(name);
    // `npm start` runs a binary that a production install has.
    const bin = pkg.scripts.start.split(" ")[0];
    expect(bin).toBe("tsx");
    expect(pkg.dependencies).toHaveProperty("tsx");
    expect(lock.packages["node_modules/tsx"].dev).toBeFalsy();
  });

  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it(
    "npm start with only the --omit=dev packages builds SyncBoard, serves it and answers /health",
    { timeout: 90_000 },
    async () => {
      const root = tempDir("warden-prod-");
      dirs.push(root);
      for (const f of ["package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json"])
        cpSync(join(REPO, f), join(root, f));
      for (const d of ["runtime", "convex", "src", "public"])
        cpSync(join(REPO, d), join(root, d), {
          recursive: true,
          filter: (s) => !/[\\/](fixtures|node_modules)$/.test(s),
        });
      // node_modules as `npm ci --omit=dev` lays it out: every top-level package the lockfile does not mark dev.
      const nm = join(root, "node_modules");
      mkdirSync(join(nm, ".bin"), { recursive: true });
      let linked = 0;
      for (const [key, entry] of Object.entries(lock.packages)) {
        const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
        if (!m || entry.dev || !existsSync(join(REPO, key))) continue; // other platforms' optional packages are absent
        mkdirSync(dirname(join(nm, m[1])), { recursive: true });
        symlinkSync(join(REPO, key), join(nm, m[1]), "dir");
        linked++;
        const bins = typeof entry.bin === "string" ? { [m[1].split("/").pop()!]: entry.bin } : (entry.bin ?? {});
        for (const [name, target] of Object.entries(bins))
          if (!existsSync(join(nm, ".bin", name))) symlinkSync(join("..", m[1], target), join(nm, ".bin", name));
      }
      expect(linked).toBeGreaterThan(50);
      for (const dev of ["vitest", "eslint", "playwright-core"]) expect(existsSync(join(nm, dev))).toBe(false);

      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !(k in TEST_ENV) && k !== "NODE_ENV" && !k.startsWith("VITEST")) env[k] = v;
      // No binaries from the repo's full node_modules (npx/vitest put its .bin on PATH).
      env.PATH = (env.PATH ?? "")
        .split(":")
        .filter((p) => !p.includes("node_modules"))
        .join(":");
      const proc = spawn("npm", ["start"], {
        cwd: root,
        env: { ...env, PORT: "0", WARDEN_DATA_DIR: join(root, ".data") },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true, // its own process group: npm and the runtime stop together
      });
      const out: string[] = [];
      const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
      try {
        const urls = await new Promise<{ url: string; siteUrl: string }>((resolve, reject) => {
          let main = "";
          const onData = (d: Buffer) => {
            for (const line of d.toString().split("\n")) {
              out.push(line);
              const a = /SyncBoard \+ Convex API\s+(http:\/\/\S+)/.exec(line);
              if (a) main = a[1];
              const b = /HTTP routes \(site\)\s+(http:\/\/\S+)/.exec(line);
              if (b && main) resolve({ url: main, siteUrl: b[1] });
            }
          };
          proc.stdout!.on("data", onData);
          proc.stderr!.on("data", onData);
          void exited.then((c) => reject(new Error(`npm start exited (${c}):\n${out.join("\n")}`)));
          setTimeout(() => reject(new Error(`npm start not ready in 80 s:\n${out.join("\n")}`)), 80_000).unref();
        });
        const health = await fetch(`${urls.siteUrl}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ ok: true });
        const html = await (await fetch(`${urls.url}/`)).text();
        expect(html).toMatch(/<script type="module"[^>]+src="\/assets\//);
        expect(existsSync(join(root, "dist", "index.html"))).toBe(true);
        expect(out.join("\n")).not.toMatch(/vite build failed|Cannot find (module|package)/);
      } finally {
        if (proc.pid) process.kill(-proc.pid, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
        if (proc.exitCode === null && proc.pid) process.kill(-proc.pid, "SIGKILL");
      }
    },
  );
});
