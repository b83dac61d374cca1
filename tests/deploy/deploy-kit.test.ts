// @vitest-environment node
/**
 * Deployment kit (issue 20.6). No container daemon or base image is reachable here, so the
 * Dockerfile is checked by reading it and by running its steps in a clean directory: the build
 * context as .dockerignore leaves it, node_modules as `npm ci --omit=dev` lays it out, the RUN
 * step's npm commands, then CMD with the image's ENV and compose.yaml's environment, HEALTHCHECK's
 * own command against it, and a check that nothing outside the data volume and the tmpfs cache
 * was written (what `read_only: true` needs).
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { TEST_ENV } from "../env.js";
import { REPO, tempDir } from "../runtime/helpers.js";

const read = (f: string) => readFileSync(join(REPO, f), "utf8");

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(src: string): { op: string; arg: string }[] {
  return src
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const i = l.indexOf(" ");
      return { op: l.slice(0, i).toUpperCase(), arg: l.slice(i + 1).trim() };
    });
}

const steps = instructions(read("Dockerfile"));
const all = (op: string) => steps.filter((s) => s.op === op);
const envOf = (): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const s of all("ENV"))
    for (const m of s.arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)) out[m[1]] = m[2].replace(/^"|"$/g, "");
  return out;
};
const exec = (arg: string): string[] => JSON.parse(arg);

/** .dockerignore as a matcher (the patterns it uses: names, `**\/name`, `name.*`). */
function ignored(path: string): boolean {
  const pats = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const parts = path.split("/");
  return pats.some((p) => {
    const anyDepth = p.startsWith("**/");
    const pat = new RegExp("^" + (anyDepth ? p.slice(3) : p).replace(/\./g, "\\.").replace(/\*/g, "[^/]*") + "$");
    return anyDepth ? parts.some((x) => pat.test(x)) : pat.test(parts[0]);
  });
}

describe("Dockerfile", () => {
  it("runs as a non-root user, keeps data on a volume, checks /health, bakes in no secret", () => {
    const users = all("USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.arg.split(":")[0];
    expect(["root", "0"]).not.toContain(user);
    // USER comes after every RUN (nothing runs as root at start) and before CMD
    const idx = (s: { op: string }) => steps.indexOf(s as never);
    expect(idx(users.at(-1)!)).toBeGreaterThan(Math.max(...all("RUN").map(idx)));
    expect(idx(users.at(-1)!)).toBeLessThan(idx(all("CMD").at(-1)!));
    const env = envOf();
    expect(env.WARDEN_DATA_DIR).toBe("/data");
    expect(all("VOLUME").map((s) => s.arg)).toContain("/data");
    expect(env.WARDEN_SKIP_UI_BUILD).toBe("1"); // SyncBoard is built into the image: no write under /app at start
    // no secret in ENV/ARG (keys are generated into the data volume or come from the operator's env)
    const named = [...all("ENV"), ...all("ARG")].flatMap((s) => [...s.arg.matchAll(/(\w+)=/g)].map((m) => m[1]));
    expect(named.filter((n) => /KEY|TOKEN|SECRET|PASSWORD|JWK|PRIVATE/i.test(n))).toEqual([]);
    // the plain-HTTP-off-loopback guard is not switched off in the image
    expect(env.WARDEN_BEHIND_TLS_PROXY).toBeUndefined();
    const hc = all("HEALTHCHECK").at(-1)!.arg;
    expect(hc).toMatch(new RegExp(`127\\.0\\.0\\.1:${env.SITE_PORT}/health`));
    expect(all("RUN").some((s) => /npm ci --omit=dev/.test(s.arg))).toBe(true);
    expect(exec(all("CMD").at(-1)!.arg)).toEqual(["node", "--import", "tsx", "runtime/cli.ts"]);
  });

  it(".dockerignore keeps data, keys, env files and local dependencies out of the build context", () => {
    for (const p of [
      ".data/keys.json",
      ".data/wal/0001.log",
      ".env",
      ".env.local",
      "runtime/fixtures/app/.data/x",
      "node_modules/x",
      "sub/.env.production",
      "dist/index.html",
    ]) {
      expect(ignored(p), p).toBe(true);
    }
    for (const p of ["package.json", "convex/schema.ts", "runtime/cli.ts", "src/main.tsx", "Dockerfile"])
      expect(ignored(p), p).toBe(false);
  });
});

describe("compose.yaml, Caddyfile, systemd unit", () => {
  const compose = read("compose.yaml");
  it("compose: read-only root, data volume, tmpfs for the bundle cache, TLS proxy declared, loopback-only ports", () => {
    expect(compose).toMatch(/read_only: true/);
    expect(compose).toMatch(/- warden-data:\/data/);
    expect(compose).toMatch(/- \/app\/node_modules\/\.cache:uid=1000/);
    expect(compose).toMatch(/- \/tmp\b/);
    expect(compose).toMatch(/WARDEN_BEHIND_TLS_PROXY: "1"/);
    const ports = [...compose.matchAll(/- "([^"]+:\d+:\d+)"/g)].map((m) => m[1]);
    expect(ports.filter((p) => p.includes("321"))).toEqual(["127.0.0.1:3210:3210", "127.0.0.1:3211:3211"]);
    expect(compose).toMatch(/no-new-privileges:true/);
    expect(compose).toMatch(/cap_drop: \[ALL\]/);
  });
  it("Caddyfile proxies both ports and never exposes /metrics", () => {
    const caddy = read("deploy/Caddyfile");
    expect(caddy).toMatch(/reverse_proxy warden:3210/);
    expect(caddy).toMatch(/reverse_proxy warden:3211/);
    expect(caddy).toMatch(/@metrics path \/metrics\s+respond @metrics 404/);
  });
  it("systemd unit: own user, read-only system, data in the state directory, same command as the image", () => {
    const unit = read("deploy/warden.service");
    expect(unit).toMatch(/^User=warden$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^StateDirectory=warden$/m);
    expect(unit).toMatch(/^Environment=WARDEN_DATA_DIR=\/var\/lib\/warden$/m);
    expect(unit).toMatch(/^Environment=HOST=127\.0\.0\.1$/m);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
    const cmd = /^ExecStart=(.+)$/m.exec(unit)![1].split(" ");
    expect(cmd.slice(1)).toEqual(exec(all("CMD").at(-1)!.arg).slice(1));
  });
});

/** Every file path under dir with its size and mtime (the read-only check). */
function tree(
  dir: string,
  skip: (rel: string) => boolean,
  base = dir,
  out = new Map<string, string>(),
): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const rel = relative(base, full);
    if (skip(rel)) continue;
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) tree(full, skip, base, out);
    else out.set(rel, `${st.size}:${st.mtimeMs}`);
  }
  return out;
}

describe("the image's steps in a clean directory", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it(
    "COPY (with .dockerignore), npm ci --omit=dev, RUN npm steps, then CMD answers /health and writes only /data and the cache",
    { timeout: 120_000 },
    async () => {
      const root = tempDir("warden-image-");
      const data = tempDir("warden-volume-");
      dirs.push(root, data);
      // COPY . . — the committed tree (what a clean clone has) minus .dockerignore
      const tar = spawnSync("sh", ["-c", `git archive --format=tar HEAD | tar -x -C '${root}'`], {
        cwd: REPO,
        encoding: "utf8",
      });
      expect(tar.status, tar.stderr).toBe(0);
      let copied = 0;
      for (const f of spawnSync("git", ["ls-tree", "-r", "--name-only", "HEAD"], { cwd: REPO, encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)) {
        if (ignored(f)) rmSync(join(root, f), { force: true });
        else copied++;
      }
      expect(copied).toBeGreaterThan(100);
      expect(existsSync(join(root, ".data"))).toBe(false);
      // RUN npm ci --omit=dev: node_modules as the lockfile lays it out without dev packages (linked, not downloaded)
      const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
        packages: Record<string, { dev?: boolean; bin?: Record<string, string> | string }>;
      };
      const nm = join(root, "node_modules");
      mkdirSync(join(nm, ".bin"), { recursive: true });
      for (const [key, entry] of Object.entries(lock.packages)) {
        const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
        if (!m || entry.dev || !existsSync(join(REPO, key))) continue;
        mkdirSync(dirname(join(nm, m[1])), { recursive: true });
        symlinkSync(join(REPO, key), join(nm, m[1]), "dir");
        const bins = typeof entry.bin === "string" ? { [m[1].split("/").pop()!]: entry.bin } : (entry.bin ?? {});
        for (const [name, target] of Object.entries(bins))
          if (!existsSync(join(nm, ".bin", name))) symlinkSync(join("..", m[1], target), join(nm, ".bin", name));
      }
      expect(existsSync(join(nm, "vitest"))).toBe(false);

      const baseEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !(k in TEST_ENV) && k !== "NODE_ENV" && !k.startsWith("VITEST")) baseEnv[k] = v;
      baseEnv.PATH = (baseEnv.PATH ?? "")
        .split(":")
        .filter((p) => !p.includes("node_modules"))
        .join(":");
      // the other RUN commands, as written (npm ci / npm cache done above; chown needs root)
      for (const run of all("RUN")) {
        for (const cmd of run.arg.split("&&").map((c) => c.trim())) {
          if (/^npm (ci|cache)\b/.test(cmd) || cmd.startsWith("chown")) continue;
          const r = spawnSync("sh", ["-c", cmd.replace(/\/data\b/, data)], {
            cwd: root,
            env: { ...baseEnv, NODE_ENV: "production" },
            encoding: "utf8",
          });
          expect(r.status, `${cmd}\n${r.stdout}\n${r.stderr}`).toBe(0);
        }
      }
      expect(existsSync(join(root, "dist", "index.html"))).toBe(true);

      const image = envOf();
      const composeEnv = { WARDEN_BEHIND_TLS_PROXY: "1" };
      const skipWritable = (rel: string) => rel === "node_modules" || rel.startsWith("node_modules/");
      const before = tree(root, skipWritable);
      const cmd = exec(all("CMD").at(-1)!.arg);
      const start = (extra: Record<string, string>) =>
        spawn(cmd[0] === "node" ? process.execPath : cmd[0], cmd.slice(1), {
          cwd: root,
          env: { ...baseEnv, ...image, WARDEN_DATA_DIR: data, PORT: "0", SITE_PORT: "0", ...extra },
          stdio: ["ignore", "pipe", "pipe"],
        });

      // without the proxy declaration (or TLS) the image refuses to serve plain HTTP on 0.0.0.0
      const refused = start({});
      let refusedOut = "";
      refused.stdout!.on("data", (d) => (refusedOut += d));
      refused.stderr!.on("data", (d) => (refusedOut += d));
      expect(await new Promise((r) => refused.once("exit", r))).not.toBe(0);
      expect(refusedOut).toMatch(/WARDEN_BEHIND_TLS_PROXY/);

      const proc = start(composeEnv);
      const out: string[] = [];
      const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
      try {
        const site = await new Promise<string>((resolve, reject) => {
          const onData = (d: Buffer) => {
            for (const line of d.toString().split("\n")) {
              out.push(line);
              const b = /HTTP routes \(site\)\s+(http:\/\/\S+)/.exec(line);
              if (b) resolve(b[1]);
            }
          };
          proc.stdout!.on("data", onData);
          proc.stderr!.on("data", onData);
          void exited.then((c) => reject(new Error(`CMD exited (${c}):\n${out.join("\n")}`)));
          setTimeout(() => reject(new Error(`not ready in 60 s:\n${out.join("\n")}`)), 60_000).unref();
        });
        // HEALTHCHECK's own command, pointed at the port this run got
        const port = new URL(site.replace("0.0.0.0", "127.0.0.1")).port;
        const hc = exec(
          all("HEALTHCHECK")
            .at(-1)!
            .arg.replace(/^.*?CMD\s+/, ""),
        );
        const probe = spawnSync(
          process.execPath,
          [...hc.slice(1, -1), hc.at(-1)!.replace(`:${image.SITE_PORT}/`, `:${port}/`)],
          { encoding: "utf8", timeout: 10_000 },
        );
        expect(probe.status, probe.stderr).toBe(0);
        expect(out.join("\n")).not.toMatch(/vite build|Cannot find (module|package)/);
      } finally {
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      // read-only root: nothing outside the volume and node_modules/.cache changed
      const after = tree(root, skipWritable);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
      expect(changed).toEqual([]);
      expect(readdirSync(data).length).toBeGreaterThan(0);
    },
  );
});
