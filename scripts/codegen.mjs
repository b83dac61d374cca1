#!/usr/bin/env node
// Writes convex/_generated offline. `npx convex codegen` needs a deployment; the hidden
// `--system-udfs` mode does not, but omits `components`, which we add back here.
// Usage: node scripts/codegen.mjs [--cwd DIR]
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const cwdIdx = args.indexOf("--cwd");
const root = cwdIdx >= 0 ? args[cwdIdx + 1] : join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "node_modules", "convex", "bin", "main.js");

execFileSync(process.execPath, [cli, "codegen", "--system-udfs", "--typecheck", "disable"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CONVEX_DEPLOYMENT: "", CONVEX_URL: "" },
});

const gen = join(root, "convex", "_generated");
const apiJs = join(gen, "api.js");
let js = readFileSync(apiJs, "utf8");
if (!js.includes("componentsGeneric")) {
  js = js.replace(
    /import \{ anyApi \} from "convex\/server";/,
    'import { anyApi, componentsGeneric } from "convex/server";',
  );
  js += "\nexport const components = componentsGeneric();\n";
  writeFileSync(apiJs, js);
}
const apiDts = join(gen, "api.d.ts");
let dts = readFileSync(apiDts, "utf8");
if (!dts.includes("export declare const components")) {
  dts +=
    '\nexport declare const components: {\n  rateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"rateLimiter">;\n};\n';
  writeFileSync(apiDts, dts);
}
