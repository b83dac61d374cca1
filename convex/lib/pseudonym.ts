/**
 * PII-minimal security events and audit targets (seed 002: "no PII in logs and events").
 * What an owner needs to act, without the raw value:
 *   - a client IP becomes its network (/24 for IPv4, /48 for IPv6) plus a keyed tag that groups
 *     repeats of the exact address: `203.0.113.0/24~3fa9c2d1`. The tag is an HMAC under a key
 *     derived from the deployment's secret key, so it cannot be reversed by hashing all IPv4s.
 *   - an attempted account name becomes its last characters plus a tag: `…a@x.io~9b1e44c0`.
 * Pure; no Convex imports.
 */
import ipaddr from "ipaddr.js";

const TAG_HEX = 8;
const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keyCache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey(
      "raw",
      encoder.encode(`warden-pseudonym:${secret}`),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    keyCache.set(secret, k);
  }
  return k;
}

/** A short keyed tag; without a key only the coarse part is kept (no unkeyed, reversible hash). */
async function tag(kind: string, value: string, secret: string | undefined): Promise<string> {
  if (!secret) return "";
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${kind}:${value}`)),
  );
  return `~${Array.from(mac.slice(0, TAG_HEX / 2), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** An address's network: /24 (IPv4, IPv4-mapped included) or /48 (IPv6); null if not an address. */
export function ipNetwork(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.kind() === "ipv4") {
    if (!ipaddr.IPv4.isValidFourPartDecimal(ip) && !ip.includes(":")) return null; // "1", "0x7f.1" …: not how addresses are written here
    const o = (addr as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const p = (addr as ipaddr.IPv6).parts;
  return `${p[0].toString(16)}:${p[1].toString(16)}:${p[2].toString(16)}::/48`;
}

export async function ipPseudonym(ip: string, secret: string | undefined): Promise<string> {
  const net = ipNetwork(ip);
  if (!net) return ip === "unknown" ? "unknown" : "invalid";
  return `${net}${await tag("ip", ipaddr.parse(ip).toNormalizedString(), secret)}`;
}

export async function accountPseudonym(name: string, secret: string | undefined): Promise<string> {
  const chars = Array.from(name);
  const tail = chars.length <= 4 ? "" : chars.slice(-4).join("");
  return `…${tail}${await tag("account", name, secret)}`;
}

/** An address-looking token; `host=…` is a destination the agent tried to reach, not a person, and stays. */
const IP_TOKEN = /(?<![0-9A-Fa-f:.])(?<!host=)[0-9A-Fa-f:.]{3,45}(?:%[A-Za-z0-9]+)?/g;

async function replaceAsync(s: string, re: RegExp, f: (m: string) => Promise<string>): Promise<string> {
  const parts: Promise<string>[] = [];
  let last = 0;
  for (const m of s.matchAll(re)) {
    parts.push(Promise.resolve(s.slice(last, m.index)), f(m[0]));
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(Promise.resolve(s.slice(last)));
  return (await Promise.all(parts)).join("");
}

/** Every IP address in a free-text detail, and `account=<name>`, replaced by their pseudonyms. */
export async function minimizeText(text: string, secret: string | undefined): Promise<string> {
  const noAccounts = await replaceAsync(
    text,
    /account=([^\s;,]+)/g,
    async (m) => `account=${await accountPseudonym(m.slice("account=".length), secret)}`,
  );
  return await replaceAsync(noAccounts, IP_TOKEN, async (m) => {
    // the token may carry a separator on either side ("ip:203.0.113.5", "from 203.0.113.5.")
    const lead = /^:(?!:)/.test(m) ? ":" : "";
    const core = m.slice(lead.length).replace(/[.:]+$/, (t) => (t === "::" ? t : ""));
    const trail = m.slice(lead.length + core.length);
    return ipNetwork(core) ? `${lead}${await ipPseudonym(core, secret)}${trail}` : m;
  });
}

/** An event source key (`ip:<addr>`, `session:…`): an IP source becomes `ip:<pseudonym>`. */
export async function minimizeSource(source: string, secret: string | undefined): Promise<string> {
  if (!source.startsWith("ip:")) return source;
  const ip = source.slice(3);
  return ipNetwork(ip) ? `ip:${await ipPseudonym(ip, secret)}` : source;
}
