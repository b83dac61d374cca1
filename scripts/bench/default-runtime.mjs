/**
 * Preload (`node --import tsx --import ./scripts/bench/default-runtime.mjs …`) that makes this
 * Node process look like Convex's default runtime to the code under test: no Node built-ins.
 *
 * - `process.getBuiltinModule` is removed: convex/lib/webhookCrypto.ts picks Node's native crypto
 *   through it at load time, so without it the module takes its Web-only path, as on Convex.
 * - `Buffer` and `setImmediate` globals are removed (Convex's runtime has neither).
 * - Any import of a Node built-in (`node:crypto`, `crypto`, …) from repository code or from
 *   @noble throws (resolve hook below), so a stray Node import in the code under test or in the
 *   bench's own reference code fails loudly instead of silently using native code.
 *
 * What stays: the Web platform Convex also provides (crypto.subtle, crypto.getRandomValues,
 * TextEncoder/TextDecoder, URL, atob/btoa, performance). V8 is the same engine Convex runs;
 * crypto.subtle is Node's implementation, not Convex's (see scripts/bench-webhooks.ts).
 */
import { register } from "node:module";

register("./default-runtime-hooks.mjs", import.meta.url);
delete process.getBuiltinModule;
delete globalThis.Buffer;
delete globalThis.setImmediate;
