/**
 * The caller's IP, from the connection and never from a header the caller wrote (pure).
 *
 * `peer` is the address the platform reports for the connection (`ctx.meta.getRequestMetadata().ip`:
 * the socket address in the embedded runtime). Forwarding headers count only when the operator
 * names trusted proxies in WARDEN_TRUSTED_PROXIES:
 * - unset, "" or "none": headers are ignored; the peer is the client.
 * - a hop count ("1", "2"): that many proxies stand in front; the client is the entry that many
 *   places left of the peer in `X-Forwarded-For, peer`.
 * - CIDRs ("10.0.0.0/8, 2001:db8::/32, 192.0.2.7"): walk `X-Forwarded-For, peer` from the right,
 *   skipping addresses inside them; the first one outside is the client.
 * X-Real-IP and Forwarded are never read. No peer and no trusted hop → "unknown" (one shared bucket).
 */
import ipaddr from "ipaddr.js";

export const UNKNOWN_IP = "unknown";
const MAX_HOPS = 10;
const MAX_CHAIN = 64;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
export type TrustedProxies = { kind: "none" } | { kind: "hops"; hops: number } | { kind: "cidrs"; ranges: Range[] };

/** An invalid setting trusts nothing (fails closed: forwarding headers stay ignored). */
export function parseTrustedProxies(raw: string | undefined): TrustedProxies {
  const s = (raw ?? "").trim();
  if (!s || s.toLowerCase() === "none") return { kind: "none" };
  if (/^\d+$/.test(s)) {
    const hops = Number(s);
    return hops >= 1 && hops <= MAX_HOPS ? { kind: "hops", hops } : { kind: "none" };
  }
  const ranges: Range[] = [];
  for (const part of s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    try {
      if (part.includes("/")) {
        const [addr, bits] = ipaddr.parseCIDR(part);
        ranges.push([
          unmap(addr),
          addr.kind() === "ipv6" && unmap(addr).kind() === "ipv4" ? Math.max(0, bits - 96) : bits,
        ]);
      } else {
        const a = unmap(ipaddr.parse(part));
        ranges.push([a, a.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      return { kind: "none" };
    }
  }
  return ranges.length ? { kind: "cidrs", ranges } : { kind: "none" };
}

function unmap(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** Parses one address as written by a proxy or a socket ("1.2.3.4", "::ffff:1.2.3.4", "[::1]:80", "1.2.3.4:5"). */
export function parseAddress(raw: string | null | undefined): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!raw) return null;
  let s = raw.trim();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket) s = bracket[1];
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(":"));
  s = s.replace(/%.*$/, ""); // zone id
  if (!ipaddr.isValid(s)) return null;
  try {
    const a = ipaddr.parse(s);
    // Only canonical dotted-quad IPv4 (ipaddr accepts "0x7f.1", "127.1"…; a proxy never writes those).
    if (a.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(s)) return null;
    return unmap(a);
  } catch {
    return null;
  }
}

function inRanges(a: ipaddr.IPv4 | ipaddr.IPv6, ranges: Range[]): boolean {
  return ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net as never, bits));
}

/** The client's address, normalized (IPv4-mapped IPv6 → IPv4), or "unknown". */
export function resolveClientIp(input: {
  peer: string | null | undefined;
  forwardedFor: string | null | undefined;
  trusted: TrustedProxies;
}): string {
  const peer = parseAddress(input.peer);
  if (!peer) return UNKNOWN_IP;
  const { trusted } = input;
  if (trusted.kind === "none" || !input.forwardedFor) return peer.toString();
  const fwd = input.forwardedFor
    .split(",")
    .slice(-MAX_CHAIN)
    .map((p) => p.trim());
  const chain: (ipaddr.IPv4 | ipaddr.IPv6 | null)[] = [...fwd.map(parseAddress), peer];
  let i: number;
  if (trusted.kind === "hops") {
    i = Math.max(0, chain.length - 1 - trusted.hops);
  } else {
    i = chain.length - 1;
    while (i > 0 && chain[i] && inRanges(chain[i]!, trusted.ranges)) i--;
  }
  // Each trusted proxy appends the address it saw, so a garbled entry means a misconfigured proxy.
  return chain[i]?.toString() ?? UNKNOWN_IP;
}

/** The key per-IP limits use: the address, or its /64 for IPv6 (one host usually owns a whole /64). */
export function ipLimitKey(ip: string): string {
  const a = parseAddress(ip);
  if (!a) return UNKNOWN_IP;
  if (a.kind() === "ipv4") return a.toString();
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(":")}::/64`;
}

/** Resolves the client IP for a request under the operator's setting. */
export function clientIpFrom(
  peer: string | null | undefined,
  forwardedFor: string | null | undefined,
  env: Record<string, string | undefined>,
): string {
  return resolveClientIp({ peer, forwardedFor, trusted: parseTrustedProxies(env.WARDEN_TRUSTED_PROXIES) });
}
