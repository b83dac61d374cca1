import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { ipLimitKey, parseAddress, parseTrustedProxies, resolveClientIp } from "./clientIp";

const none = parseTrustedProxies(undefined);

describe("client IP", () => {
  test("trust none (default): forwarding headers are ignored, whatever they say", () => {
    fc.assert(
      fc.property(fc.string(), (xff) => {
        expect(resolveClientIp({ peer: "203.0.113.9", forwardedFor: xff, trusted: none })).toBe("203.0.113.9");
      }),
    );
    expect(resolveClientIp({ peer: null, forwardedFor: "198.51.100.1", trusted: none })).toBe("unknown");
    expect(resolveClientIp({ peer: "::ffff:203.0.113.9", forwardedFor: null, trusted: none })).toBe("203.0.113.9");
  });

  test("settings: none, hop counts, CIDRs; anything invalid trusts nothing", () => {
    for (const raw of ["", "none", "0", "11", "10.0.0.0/33", "banana", "10.0.0.0/8, nope"])
      expect(parseTrustedProxies(raw).kind).toBe("none");
    expect(parseTrustedProxies("2")).toEqual({ kind: "hops", hops: 2 });
    expect(parseTrustedProxies("10.0.0.0/8, 2001:db8::/32, 192.0.2.7").kind).toBe("cidrs");
  });

  test("hop count: the entry that many places left of the peer", () => {
    const trusted = parseTrustedProxies("1");
    expect(resolveClientIp({ peer: "10.0.0.2", forwardedFor: "1.1.1.1, 203.0.113.5", trusted })).toBe("203.0.113.5");
    expect(resolveClientIp({ peer: "10.0.0.2", forwardedFor: "", trusted })).toBe("10.0.0.2");
    const two = parseTrustedProxies("2");
    expect(resolveClientIp({ peer: "10.0.0.2", forwardedFor: "6.6.6.6, 203.0.113.5, 10.0.0.9", trusted: two })).toBe(
      "203.0.113.5",
    );
  });

  test("CIDRs: rightmost address outside the trusted ranges, in every notation", () => {
    const trusted = parseTrustedProxies("10.0.0.0/8, 2001:db8::/32");
    const r = (peer: string, xff: string) => resolveClientIp({ peer, forwardedFor: xff, trusted });
    expect(r("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.1.2.3")).toBe("203.0.113.5");
    expect(r("::ffff:10.0.0.2", "203.0.113.5")).toBe("203.0.113.5");
    expect(r("2001:db8::1", "[2001:db8::2]:443, 198.51.100.4:5555, 2001:db8::3")).toBe("198.51.100.4");
    expect(r("192.0.2.1", "203.0.113.5")).toBe("192.0.2.1"); // untrusted peer: headers ignored
    expect(r("10.0.0.2", "10.0.0.3, 10.0.0.4")).toBe("10.0.0.3"); // all trusted: leftmost
    expect(r("10.0.0.2", "0x7f.1")).toBe("unknown"); // non-canonical: never a key
    // the attacker controls only entries left of what the trusted proxy appended
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { maxLength: 5 }), (forged) => {
        expect(r("10.0.0.2", [...forged, "203.0.113.5"].join(", "))).toBe("203.0.113.5");
      }),
    );
  });

  test("per-IP limit key: the address, or the /64 for IPv6", () => {
    expect(ipLimitKey("203.0.113.9")).toBe("203.0.113.9");
    expect(ipLimitKey("2001:db8:1:2::1")).toBe(ipLimitKey("2001:db8:1:2:ffff::9"));
    expect(ipLimitKey("2001:db8:1:3::1")).not.toBe(ipLimitKey("2001:db8:1:2::1"));
    expect(ipLimitKey("not an ip")).toBe("unknown");
    expect(parseAddress("[::1]:80")?.toString()).toBe("::1");
  });
});
