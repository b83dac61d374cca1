/**
 * Egress guard: pure checks for anything that leaves the box (webhook skills, MCP, health checks).
 *
 * - `validateAllowlistEntry` — normalizes an owner-entered domain, or rejects it.
 * - `isPublicAddress`        — is a resolved IP address safe to connect to?
 * - `checkEgressUrl`         — is this URL allowed (scheme, userinfo, port, IP literal, allowlist)?
 *
 * Pure TypeScript, no Node built-ins: it bundles for the browser and Convex's default runtime.
 * The connect-time check (resolve, vet every address, pin) lives in `safeFetch.ts` (Node only).
 *
 * Codes returned here (DESIGN.md catalogue, extended):
 *   DOMAIN_INVALID          (new) allowlist entry is not a plain public DNS name
 *   URL_INVALID             (new) the URL does not parse
 *   SCHEME_NOT_ALLOWED      (new) not https (or http when explicitly allowed)
 *   USERINFO_NOT_ALLOWED    (new) URL carries `user:pass@`
 *   PORT_NOT_ALLOWED        (new) port other than 443 (or 80 for allowed http)
 *   PRIVATE_ADDRESS_BLOCKED host is a non-public IP literal or a localhost-like name
 *   DOMAIN_NOT_ALLOWED      host is not exactly an allowlist entry (public IP literals included)
 */
import ipaddr from "ipaddr.js";

export type AllowlistEntryResult =
  { ok: true; value: string } | { ok: false; code: "DOMAIN_INVALID" | "PRIVATE_ADDRESS_BLOCKED" };

export type EgressCode =
  | "URL_INVALID"
  | "SCHEME_NOT_ALLOWED"
  | "USERINFO_NOT_ALLOWED"
  | "PORT_NOT_ALLOWED"
  | "PRIVATE_ADDRESS_BLOCKED"
  | "DOMAIN_NOT_ALLOWED";

export type EgressUrlResult = { ok: true; url: URL } | { ok: false; code: EgressCode };

export type EgressOptions = {
  /** Permit `http:` (port 80) in addition to `https:` (port 443). Default false. */
  allowHttp?: boolean;
  /** Test-only: skip the port rule. Only safeFetch sets it, and only under its loopback override. */
  testOnlyAnyPort?: boolean;
  /** Non-default ports the operator allowed for this destination (e.g. a model host `llm.example.com:8443`). */
  allowedPorts?: readonly string[];
};

/** Longest input we even look at; real URLs and domains are far shorter. */
/**
 * Request headers a caller never sets on an outbound request: framing, hop-by-hop, Host (taken
 * from the vetted URL) and encoding. The executor drops them; skill configs may not name them.
 */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "accept-encoding",
  "proxy-authorization",
  "proxy-connection",
]);

const MAX_URL_LENGTH = 8192;
const MAX_ENTRY_INPUT_LENGTH = 1024;

/**
 * Top-level names that never resolve to the public internet (RFC 6761, RFC 8375, common
 * split-horizon suffixes, cloud metadata names such as metadata.google.internal).
 */
const NON_PUBLIC_SUFFIXES = [
  "localhost",
  "local",
  "localdomain",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "arpa", // includes home.arpa, in-addr.arpa, ip6.arpa
  "test",
  "invalid",
  "example",
  "onion",
];

/** Hostnames (ASCII, lowercase, no trailing dot) that point at this machine or a private network. */
function isNonPublicName(host: string): boolean {
  const tld = host.slice(host.lastIndexOf(".") + 1);
  return NON_PUBLIC_SUFFIXES.includes(tld);
}

/** WHATWG treats a host whose last label is a number (decimal, 0x-hex) as an IPv4 address. */
function endsInNumber(host: string): boolean {
  const labels = host.split(".");
  if (labels.length > 1 && labels[labels.length - 1] === "") labels.pop();
  const last = labels[labels.length - 1] ?? "";
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

// ---------------------------------------------------------------------------------------------
// Addresses

const V4_NAT64_WKP: [ipaddr.IPv6, number] = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
const V4_NAT64_LOCAL: [ipaddr.IPv6, number] = ipaddr.IPv6.parseCIDR("64:ff9b:1::/48");
const V6_6TO4: [ipaddr.IPv6, number] = ipaddr.IPv6.parseCIDR("2002::/16");
const V6_GLOBAL_UNICAST: [ipaddr.IPv6, number] = ipaddr.IPv6.parseCIDR("2000::/3");

function isPublicV4(addr: ipaddr.IPv4): boolean {
  // ipaddr.js names every special-purpose block (loopback, private, linkLocal incl. 169.254.169.254,
  // carrierGradeNat incl. 100.100.100.200, multicast, unspecified 0/8, broadcast, reserved incl.
  // 192.0.0/24, TEST-NETs, 198.18/15, 240/4, as112, amt); only plain "unicast" is public.
  return addr.range() === "unicast";
}

function v4FromParts(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function isPublicV6(addr: ipaddr.IPv6): boolean {
  if (addr.zoneId) return false; // scoped addresses are link-local by definition
  const p = addr.parts;
  if (addr.match(V4_NAT64_WKP)) return isPublicV4(v4FromParts(p[6], p[7]));
  // Local-use NAT64 (RFC 8215): the embedding depends on the operator's prefix length; refuse.
  if (addr.match(V4_NAT64_LOCAL)) return false;
  if (addr.match(V6_6TO4)) return isPublicV4(v4FromParts(p[1], p[2]));
  // Outside 2000::/3 nothing is globally routed: ::/8 (::, ::1, IPv4-mapped/-compatible),
  // 100::/64, fc00::/7, fe80::/10, fec0::/10, ff00::/8 …
  if (!addr.match(V6_GLOBAL_UNICAST)) return false;
  // Inside it, ipaddr.js flags Teredo 2001::/32, 2001:db8::/32, benchmarking, ORCHID, AMT, 3fff::/20 …
  return addr.range() === "unicast";
}

/**
 * True only for a globally routable unicast address. False for loopback, private, link-local,
 * CGNAT, multicast, unspecified, broadcast, reserved, documentation, benchmarking, cloud metadata,
 * IPv4-mapped/-compatible IPv6, NAT64/6to4 embedding a non-public IPv4, Teredo, ULA, site-local,
 * discard, zone-scoped addresses — and for anything that does not parse.
 *
 * IPv4 must be canonical dotted decimal (what a resolver returns); other notations (octal, hex,
 * short forms) are ambiguous across parsers and return false. `checkEgressUrl` handles those.
 */
export function isPublicAddress(ip: string): boolean {
  if (typeof ip !== "string" || ip.length === 0 || ip.length > 64) return false;
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return isPublicV4(ipaddr.IPv4.parse(ip));
  if (!ip.includes(":") || !ipaddr.IPv6.isValid(ip)) return false;
  if (ip.includes(".")) {
    // Embedded dotted quad must be canonical too (no octal/hex games).
    const tail = ip.slice(ip.lastIndexOf(":") + 1).replace(/%.*$/, "");
    if (!ipaddr.IPv4.isValidFourPartDecimal(tail)) return false;
  }
  return isPublicV6(ipaddr.IPv6.parse(ip));
}

/**
 * Classify a URL host (as given by `URL.hostname`) that is, or looks like, an IP literal.
 * Returns null for a DNS name, "malformed" for a numeric last label that is no IPv4.
 * Does not rely on the URL parser having normalized IPv4 notations: a numeric last label is
 * parsed leniently (octal, hex, 1–4 parts), as WHATWG and inet_aton do.
 */
function classifyIpHost(host: string): "public" | "non-public" | "malformed" | null {
  if (host.startsWith("[") || host.includes(":")) {
    const inner = host.replace(/^\[/, "").replace(/\]$/, "");
    return isPublicAddress(inner) ? "public" : "non-public";
  }
  if (!endsInNumber(host)) return null;
  const bare = host.endsWith(".") ? host.slice(0, -1) : host;
  let canonical: string;
  try {
    canonical = ipaddr.IPv4.parse(bare).toString();
  } catch {
    return "malformed"; // numeric last label but no valid IPv4 (e.g. 1.2.3.4.5, example.123)
  }
  return isPublicAddress(canonical) ? "public" : "non-public";
}

// ---------------------------------------------------------------------------------------------
// Allowlist entries

// Characters that make an entry a URL/host:port/path/pattern rather than a bare domain.
// `:` and `[` are handled first (IPv6 literals), the rest are format errors.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_ENTRY_CHARS = /[\s\u0000-\u001f\u007f-\u009f*/\\:@?#%[\]_,;'"<>`{}|^!$&()+=~]/u;
const ASCII_HOST = /^[a-z0-9.-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Hostname through the WHATWG host parser (IDNA → punycode, lowercase), or null. */
function toAsciiHost(input: string): string | null {
  try {
    const u = new URL(`https://${input}/`);
    if (u.username || u.password || u.port || u.pathname !== "/" || u.search || u.hash) return null;
    return u.hostname;
  } catch {
    return null;
  }
}

/**
 * Validate and normalize an owner-entered allowlist domain.
 * Accepts a plain DNS name with at least one dot (`api.example.com`, `Bücher.de`), returns it
 * lowercase ASCII (punycode) without trailing dot. Rejects wildcards, schemes, paths, ports,
 * userinfo, whitespace/control chars, underscores, empty or over-long labels, names over 253
 * chars, single-label and localhost-like names (DOMAIN_INVALID). IP literals in any notation:
 * PRIVATE_ADDRESS_BLOCKED when non-public, DOMAIN_INVALID when public (an IP is not a domain).
 */
export function validateAllowlistEntry(entry: string): AllowlistEntryResult {
  const invalid = { ok: false, code: "DOMAIN_INVALID" } as const;
  const blocked = { ok: false, code: "PRIVATE_ADDRESS_BLOCKED" } as const;
  if (typeof entry !== "string" || entry.length === 0 || entry.length > MAX_ENTRY_INPUT_LENGTH) {
    return invalid;
  }
  // IPv6 literal, bracketed or not.
  if (entry.startsWith("[") || entry.includes(":")) {
    const inner = entry.startsWith("[") && entry.endsWith("]") ? entry.slice(1, -1) : entry;
    if (ipaddr.IPv6.isValid(inner)) return isPublicAddress(inner) ? invalid : blocked;
    return invalid;
  }
  if (FORBIDDEN_ENTRY_CHARS.test(entry)) return invalid;
  // IPv4 literal in any notation, judged before and after host parsing (fullwidth digits etc.).
  const early = classifyIpHost(entry.toLowerCase());
  if (early) return early === "non-public" ? blocked : invalid;

  const parsed = toAsciiHost(entry);
  if (parsed === null) return invalid;
  const late = classifyIpHost(parsed);
  if (late) return late === "non-public" ? blocked : invalid;

  const host = parsed.endsWith(".") ? parsed.slice(0, -1) : parsed;
  if (host.length === 0 || host.length > 253 || !ASCII_HOST.test(host)) return invalid;
  const labels = host.split(".");
  if (labels.length < 2) return invalid;
  if (!labels.every((l) => LABEL.test(l))) return invalid;
  if (isNonPublicName(host)) return invalid;
  return { ok: true, value: host };
}

/** Normalize an allowlist, dropping invalid entries (they can never match). */
export function normalizeAllowlist(allowlist: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const entry of allowlist) {
    const r = validateAllowlistEntry(entry);
    if (r.ok) out.add(r.value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// URLs

/**
 * Decide whether `url` may be fetched. Order: parse → scheme → userinfo → IP-literal / localhost
 * host → allowlist (exact match, no subdomains) → port. On success returns a fresh `URL` with the
 * fragment removed and a trailing dot stripped from the host; fetch exactly that URL.
 *
 * This is the static half of the guard; DNS answers must still be vetted at connect time
 * (`safeFetch`), because an allowlisted name can resolve to a private address.
 */
export function checkEgressUrl(url: string, allowlist: readonly string[], opts: EgressOptions = {}): EgressUrlResult {
  if (typeof url !== "string" || url.length === 0 || url.length > MAX_URL_LENGTH) {
    return { ok: false, code: "URL_INVALID" };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, code: "URL_INVALID" };
  }
  const httpAllowed = opts.allowHttp === true;
  if (!(u.protocol === "https:" || (httpAllowed && u.protocol === "http:"))) {
    return { ok: false, code: "SCHEME_NOT_ALLOWED" };
  }
  if (u.username !== "" || u.password !== "") return { ok: false, code: "USERINFO_NOT_ALLOWED" };

  const rawHost = u.hostname.toLowerCase();
  const ipClass = classifyIpHost(rawHost);
  if (ipClass === "non-public") return { ok: false, code: "PRIVATE_ADDRESS_BLOCKED" };
  if (ipClass !== null) return { ok: false, code: "DOMAIN_NOT_ALLOWED" }; // public IP or malformed
  const host = rawHost.endsWith(".") ? rawHost.slice(0, -1) : rawHost;
  if (host === "" || !ASCII_HOST.test(host)) return { ok: false, code: "DOMAIN_NOT_ALLOWED" };
  // `localhost` and `*.localhost` are loopback by definition (RFC 6761).
  if (host.slice(host.lastIndexOf(".") + 1) === "localhost") {
    return { ok: false, code: "PRIVATE_ADDRESS_BLOCKED" };
  }
  if (!normalizeAllowlist(allowlist).has(host)) return { ok: false, code: "DOMAIN_NOT_ALLOWED" };

  // WHATWG already elides the scheme's default port, so any non-empty port is non-default.
  if (u.port !== "" && opts.testOnlyAnyPort !== true && !(opts.allowedPorts ?? []).includes(u.port)) {
    const expected = u.protocol === "https:" ? "443" : "80";
    if (u.port !== expected) return { ok: false, code: "PORT_NOT_ALLOWED" };
  }

  const out = new URL(u.href);
  out.hash = "";
  if (out.hostname !== host) out.hostname = host;
  return { ok: true, url: out };
}
