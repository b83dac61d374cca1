// Secretbox on Convex's default-runtime path (no Node built-ins: @noble/ciphers XChaCha20-Poly1305).
// Under vitest, process.getBuiltinModule exists and crypto/xchacha.ts takes the native path; this
// file hides it while the modules load (each test file has its own module graph), then runs the
// unchanged secretbox and xchacha suites on the plain path — the one bench:secrets' default-runtime
// rows measure.
import { describe, expect, it } from "vitest";

type ProcessWithBuiltins = { getBuiltinModule?: unknown };
const proc = process as unknown as ProcessWithBuiltins;
const saved = Object.getOwnPropertyDescriptor(proc, "getBuiltinModule");
delete proc.getBuiltinModule;
let plain: typeof import("../../convex/lib/crypto/xchacha");
try {
  plain = await import("../../convex/lib/crypto/xchacha");
  await import("../../convex/lib/crypto/xchacha.test");
  await import("../../convex/lib/secretbox.test");
} finally {
  if (saved) Object.defineProperty(proc, "getBuiltinModule", saved);
}

describe("secretbox plain path (Convex's default runtime)", () => {
  it("is the path under test here", () => {
    expect(plain.xchachaNative).toBe(false);
  });
});
