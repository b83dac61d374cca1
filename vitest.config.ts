import { defineConfig } from "vitest/config";
import { TEST_ENV } from "./tests/env.ts";

export default defineConfig({
  test: {
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    include: ["convex/**/*.test.ts", "tests/**/*.test.ts", "runtime/**/*.test.ts", "scripts/**/*.test.ts"],
    exclude: ["node_modules", "dist", "runtime/fixtures/**"],
    env: { ...TEST_ENV },
    testTimeout: 30000,
    hookTimeout: 60000,
  },
});
