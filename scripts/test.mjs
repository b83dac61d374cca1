#!/usr/bin/env node
// The README's test command: type-check, lint, format check, then every vitest suite; ends with "N passed, N failed".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";

const bin = (name) => `node_modules/.bin/${name}`;
let failedSteps = 0;
function step(label, cmd, args) {
  console.log(`\n▶ ${label}`);
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.log(`✖ ${label} failed (exit ${r.status})`);
    failedSteps++;
  }
  return r.status === 0;
}

step("type-check (tsc --noEmit)", bin("tsc"), ["--noEmit", "-p", "."]);
step("lint (eslint)", bin("eslint"), ["--max-warnings=0", "."]);
step("format (prettier --check)", bin("prettier"), ["--check", "--log-level=warn", "."]);

mkdirSync("test-output", { recursive: true });
const report = "test-output/vitest.json";
rmSync(report, { force: true });
step("tests (vitest)", bin("vitest"), [
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
]);

let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, "utf8"));
  passed = r.numPassedTests ?? 0;
  // Failed tests, plus suites that failed without a failing test (e.g. an import error).
  const brokenSuites = (r.testResults ?? []).filter(
    (s) => s.status === "failed" && !(s.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  failed = (r.numFailedTests ?? 0) + brokenSuites;
} else {
  failed = 1;
}
failed += failedSteps;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
