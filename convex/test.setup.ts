/// <reference types="vite/client" />
// Module map for convex-test (test files excluded).
export const modules = import.meta.glob(["./**/*.*s", "!./**/*.test.*s"]);
