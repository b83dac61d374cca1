import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import convexPlugin from "@convex-dev/eslint-plugin";

export default tseslint.config(
  {
    ignores: [
      "node_modules",
      "dist",
      ".data",
      "**/_generated",
      "test-output",
      "tests/fixtures",
      "runtime/fixtures/app/node_modules",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-console": "off",
    },
  },
  {
    // Convex's own lint rules for functions, schema and crons (the "recommended" set)
    files: ["convex/**/*.ts"],
    ignores: ["convex/**/*.test.ts"],
    plugins: { "@convex-dev": convexPlugin },
    rules: {
      "@convex-dev/no-old-registered-function-syntax": "error",
      "@convex-dev/require-args-validator": "error",
      // db.get/patch/replace/delete name their table, so an id of another table is refused.
      // Not yet: 72 process.env reads to move to declared env (convex.config.ts); 11 prefix
      // indexes that keep creation-time order.
      "@convex-dev/explicit-table-ids": "error",
      "@convex-dev/no-process-env": "off",
      "@convex-dev/no-duplicate-indexes": "off",
      "@convex-dev/no-filter-in-query": "error",
      "@convex-dev/no-collect-in-query": "error",
      "@convex-dev/no-top-of-hour-crons": "error",
      "@convex-dev/no-schema-import-cycle": "error",
    },
  },
);
