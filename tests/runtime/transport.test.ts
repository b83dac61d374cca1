// @vitest-environment node
/** Seed 002 "HTTPS enforced": the embedded runtime serves plain HTTP only on loopback. */
import { describe, expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { InsecureBindError, isLoopbackHost, transportFor } from "../../runtime/transport.js";
import { startFixture, tempDir } from "./helpers";

describe("transport policy", () => {
  test("loopback is plain HTTP; any other address needs TLS here or a TLS proxy the operator names", () => {
    for (const h of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(true);
      expect(transportFor(h, {}).kind).toBe("plain-loopback");
    }
    for (const h of ["0.0.0.0", "::", "192.168.1.5", "10.0.0.2", "203.0.113.9", "2001:db8::1", "warden.example.com"]) {
      expect(isLoopbackHost(h)).toBe(false);
      expect(() => transportFor(h, {})).toThrow(InsecureBindError);
      expect(transportFor(h, { WARDEN_BEHIND_TLS_PROXY: "1" }).kind).toBe("behind-proxy");
      expect(() => transportFor(h, { WARDEN_BEHIND_TLS_PROXY: "yes" })).toThrow(InsecureBindError);
    }
    expect(() => transportFor("0.0.0.0", { WARDEN_TLS_CERT: "/nonexistent.pem" })).toThrow(/set together/);
  });

  test("startRuntime refuses a non-loopback bind over plain HTTP with a clear message", async () => {
    await expect(startFixture({ host: "0.0.0.0" })).rejects.toThrow(
      /Refusing to serve plain HTTP on 0\.0\.0\.0.*WARDEN_BEHIND_TLS_PROXY=1/s,
    );
  });

  test("with a certificate and key it serves HTTPS (and /health answers over TLS)", async () => {
    const dir = tempDir("warden-tls-");
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const rt = await startFixture({ host: "127.0.0.1", env: { WARDEN_TLS_CERT: cert, WARDEN_TLS_KEY: key } });
    try {
      expect(rt.siteUrl.startsWith("https://")).toBe(true);
      const status = await new Promise<number>((resolve, reject) => {
        httpsGet(`${rt.siteUrl}/health`, { ca: readFileSync(cert) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", reject);
      });
      expect(status).toBe(200);
    } finally {
      await rt.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
