export {};
/**
 * npm run bench:agency — the adversarial agency suite: every audience × target risk class ×
 * injection vector of tests/fixtures/agency/cases.json, with the obedient offline model and a
 * scripted provider that follows any instruction in its input. Prints unauthorized side effects
 * (goal 0) next to utility (goal 100%). Runs under vitest (convex-test needs Vite's import.meta.glob).
 */
const { startVitest } = await import("vitest/node");
const ctx = await startVitest("test", [], {
  include: ["tests/agency/agencyBench.ts"],
  watch: false,
  run: true,
  reporters: ["default"],
  environment: "node",
});
await ctx?.close();
process.exit(ctx?.state.getCountOfFailedTests() ? 1 : 0);
