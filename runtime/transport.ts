/**
 * HTTPS enforced (seed 002): the embedded runtime speaks plain HTTP only on loopback. Binding any
 * other address needs either TLS served here (WARDEN_TLS_CERT + WARDEN_TLS_KEY, PEM files) or the
 * operator's word that a TLS-terminating proxy is in front (WARDEN_BEHIND_TLS_PROXY=1).
 */
import { readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";

export type Transport =
  { kind: "plain-loopback" } | { kind: "behind-proxy" } | { kind: "tls"; cert: Buffer; key: Buffer };

export class InsecureBindError extends Error {
  constructor(host: string) {
    super(
      `Refusing to serve plain HTTP on ${host}: that address is reachable from other machines. ` +
        `Either serve TLS here (WARDEN_TLS_CERT and WARDEN_TLS_KEY: PEM certificate and key files), ` +
        `or put an HTTPS reverse proxy in front and set WARDEN_BEHIND_TLS_PROXY=1. ` +
        `For local use, keep HOST=127.0.0.1.`,
    );
    this.name = "InsecureBindError";
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (!ipaddr.isValid(h)) return false;
  let a = ipaddr.parse(h);
  if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.range() === "loopback";
}

export function transportFor(host: string, env: Record<string, string | undefined>): Transport {
  const cert = env.WARDEN_TLS_CERT;
  const key = env.WARDEN_TLS_KEY;
  if (cert || key) {
    if (!cert || !key) throw new Error("WARDEN_TLS_CERT and WARDEN_TLS_KEY must be set together (PEM file paths).");
    return { kind: "tls", cert: readFileSync(cert), key: readFileSync(key) };
  }
  if (isLoopbackHost(host)) return { kind: "plain-loopback" };
  if (env.WARDEN_BEHIND_TLS_PROXY === "1") return { kind: "behind-proxy" };
  throw new InsecureBindError(host);
}
