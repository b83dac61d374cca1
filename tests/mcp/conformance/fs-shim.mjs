// Node 20 lacks fs.globSync (Node 22), which @modelcontextprotocol/conformance imports. Its CLI
// only calls it as globSync("**/checks.json", { cwd }) (tier-check); this covers "**/<name>".
import fs from "node:fs";
import path from "node:path";
export * from "node:fs";
export default fs;
export function globSync(pattern, opts = {}) {
  const m = /^\*\*\/([^*?[\]{}/]+)$/.exec(String(pattern));
  if (!m) throw new Error(`fs-shim: unsupported glob pattern ${pattern}`);
  const cwd = opts.cwd ?? process.cwd();
  return fs
    .readdirSync(cwd, { recursive: true })
    .map(String)
    .filter((p) => path.basename(p) === m[1]);
}
