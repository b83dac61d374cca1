import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { checkEgressUrl, isPublicAddress, normalizeAllowlist, validateAllowlistEntry } from "./egress";

describe("validateAllowlistEntry", () => {
  test.each([
    ["api.example.com", "api.example.com"],
    ["API.Example.COM", "api.example.com"],
    ["example.com.", "example.com"],
    ["bücher.de", "xn--bcher-kva.de"],
    ["xn--bcher-kva.de", "xn--bcher-kva.de"],
    ["ｅｘａｍｐｌｅ．com", "example.com"],
    ["a-b.example.co.uk", "a-b.example.co.uk"],
    [`${"a".repeat(63)}.com`, `${"a".repeat(63)}.com`],
    [
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`,
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`,
    ], // 253
  ])("accepts %j as %j", (input, value) => {
    expect(validateAllowlistEntry(input)).toEqual({ ok: true, value });
  });

  test.each([
    "127.0.0.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "127.1",
    "10.0.0.1",
    "169.254.169.254",
    "[::1]",
    "::1",
    "[::ffff:127.0.0.1]",
    "[fd00:ec2::254]",
    "１２７．０．０．１",
  ])("rejects private IP literal %j with PRIVATE_ADDRESS_BLOCKED", (input) => {
    expect(validateAllowlistEntry(input)).toEqual({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
  });

  test.each([
    "",
    "*",
    "*.example.com",
    "api.*.com",
    "https://example.com",
    "//example.com",
    "example.com/a",
    "example.com:443",
    ":443",
    "user@example.com",
    "user:pw@example.com",
    "a..b",
    ".a",
    "a.",
    ".",
    "..",
    `${"a".repeat(64)}.com`,
    `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.${"e".repeat(6)}.com`, // 254
    "localhost",
    "intranet",
    "com",
    "api.localhost",
    "printer.local",
    "db.internal",
    "metadata.google.internal",
    "router.home.arpa",
    "host.localdomain",
    " example.com",
    "example.com ",
    "exa mple.com",
    "example.com\n",
    "example.com\r",
    "ex\u0000ample.com",
    "ex\tample.com",
    "ex\u0085ample.com",
    "my_host.example.com",
    "-x.example.com",
    "x-.example.com",
    "example.com?x",
    "example.com#x",
    "ex%61mple.com",
    "ex\\ample.com",
    "8.8.8.8", // public, but an IP is not a domain
    "[2606:4700::1111]",
    "1.2.3.4.5",
    "example.123",
  ])("rejects %j with DOMAIN_INVALID", (input) => {
    expect(validateAllowlistEntry(input)).toEqual({ ok: false, code: "DOMAIN_INVALID" });
  });

  test("every accepted value is plain lowercase ASCII, dotted, within DNS limits, and idempotent", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.domain(), fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 40 })),
        (s) => {
          const r = validateAllowlistEntry(s);
          if (!r.ok) return;
          expect(r.value).toMatch(/^[a-z0-9.-]+$/);
          expect(r.value.length).toBeLessThanOrEqual(253);
          expect(r.value.split(".").length).toBeGreaterThanOrEqual(2);
          for (const label of r.value.split(".")) expect(label.length).toBeGreaterThan(0);
          expect(validateAllowlistEntry(r.value)).toEqual(r);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("normalizeAllowlist drops invalid entries and normalizes the rest", () => {
    expect([...normalizeAllowlist(["API.example.com.", "localhost", "127.0.0.1", "*.x.com"])]).toEqual([
      "api.example.com",
    ]);
  });
});

describe("isPublicAddress", () => {
  test.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "64:ff9b::808:808",
    "2002:808:808::1",
  ])("%s is public", (ip) => expect(isPublicAddress(ip)).toBe(true));

  test.each([
    ["loopback v4", "127.0.0.1"],
    ["loopback v4 high", "127.255.255.254"],
    ["loopback v6", "::1"],
    ["private 10/8", "10.1.2.3"],
    ["private 172.16/12", "172.16.0.1"],
    ["private 172.31", "172.31.255.255"],
    ["private 192.168/16", "192.168.1.1"],
    ["link-local v4", "169.254.1.1"],
    ["link-local v6", "fe80::1"],
    ["link-local v6 zone", "fe80::1%eth0"],
    ["CGNAT", "100.64.0.1"],
    ["multicast v4", "224.0.0.1"],
    ["multicast v6", "ff02::1"],
    ["unspecified v4", "0.0.0.0"],
    ["unspecified v6", "::"],
    ["this network 0/8", "0.1.2.3"],
    ["broadcast", "255.255.255.255"],
    ["reserved 240/4", "240.0.0.1"],
    ["TEST-NET-1", "192.0.2.1"],
    ["TEST-NET-2", "198.51.100.1"],
    ["TEST-NET-3", "203.0.113.1"],
    ["documentation v6", "2001:db8::1"],
    ["benchmarking", "198.18.0.1"],
    ["benchmarking high", "198.19.255.255"],
    ["IETF 192.0.0/24", "192.0.0.8"],
    ["AWS/GCP/Azure metadata", "169.254.169.254"],
    ["AWS metadata v6", "fd00:ec2::254"],
    ["Alibaba metadata", "100.100.100.200"],
    ["IPv4-mapped private", "::ffff:127.0.0.1"],
    ["IPv4-mapped hex", "::ffff:7f00:1"],
    ["IPv4-mapped public (never connect via mapped)", "::ffff:8.8.8.8"],
    ["IPv4-compatible", "::127.0.0.1"],
    ["IPv4-compatible public", "::8.8.8.8"],
    ["NAT64 private", "64:ff9b::7f00:1"],
    ["NAT64 dotted private", "64:ff9b::10.0.0.1"],
    ["NAT64 local-use", "64:ff9b:1::808:808"],
    ["6to4 private", "2002:7f00:1::1"],
    ["6to4 metadata", "2002:a9fe:a9fe::1"],
    ["Teredo", "2001::1"],
    ["Teredo 2", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    ["ULA fc00::/7", "fc00::1"],
    ["ULA fd", "fd12:3456::1"],
    ["site-local", "fec0::1"],
    ["discard", "100::1"],
    ["empty", ""],
    ["garbage", "not-an-ip"],
    ["octal v4 (ambiguous)", "0177.0.0.1"],
    ["decimal v4 (ambiguous)", "2130706433"],
    ["short v4 (ambiguous)", "127.1"],
    ["leading zero public-looking", "010.8.8.8"],
    ["padded", " 8.8.8.8"],
    ["bracketed", "[2606:4700::1111]"],
    ["NAT64 with octal tail", "64:ff9b::010.8.8.8"],
  ])("%s (%s) is not public", (_name, ip) => expect(isPublicAddress(ip)).toBe(false));

  test("non-string input is not public", () => {
    expect(isPublicAddress(undefined as unknown as string)).toBe(false);
    expect(isPublicAddress(0x08080808 as unknown as string)).toBe(false);
  });
});

describe("checkEgressUrl", () => {
  const allow = ["api.example.com"];

  test("accepts an allowlisted https URL, strips the fragment and a trailing dot", () => {
    const r = checkEgressUrl("https://api.example.com./v1/x?q=1#frag", allow);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url.href).toBe("https://api.example.com/v1/x?q=1");
  });

  test("explicit default port is fine", () => {
    expect(checkEgressUrl("https://api.example.com:443/", allow).ok).toBe(true);
    expect(checkEgressUrl("http://api.example.com:80/", allow, { allowHttp: true }).ok).toBe(true);
  });

  test("allowlist entries are normalized before matching", () => {
    expect(checkEgressUrl("https://api.example.com/", ["API.Example.com."]).ok).toBe(true);
    const idn = checkEgressUrl("https://xn--bcher-kva.de/", ["bücher.de"]);
    expect(idn.ok).toBe(true);
  });

  test.each([
    ["ftp://api.example.com/", "SCHEME_NOT_ALLOWED"],
    ["http://api.example.com/", "SCHEME_NOT_ALLOWED"],
    ["file:///etc/passwd", "SCHEME_NOT_ALLOWED"],
    ["gopher://api.example.com/", "SCHEME_NOT_ALLOWED"],
    ["javascript:alert(1)", "SCHEME_NOT_ALLOWED"],
    ["data:text/plain,hi", "SCHEME_NOT_ALLOWED"],
    ["not a url", "URL_INVALID"],
    ["", "URL_INVALID"],
    [`https://api.example.com/${"a".repeat(9000)}`, "URL_INVALID"],
    ["https://user:pw@api.example.com/", "USERINFO_NOT_ALLOWED"],
    ["https://user@api.example.com/", "USERINFO_NOT_ALLOWED"],
    ["https://api.example.com@evil.com/", "USERINFO_NOT_ALLOWED"],
    ["https://api.example.com:8443/", "PORT_NOT_ALLOWED"],
    ["https://api.example.com:80/", "PORT_NOT_ALLOWED"],
    ["https://evil.com/", "DOMAIN_NOT_ALLOWED"],
    ["https://sub.api.example.com/", "DOMAIN_NOT_ALLOWED"],
    ["https://example.com/", "DOMAIN_NOT_ALLOWED"],
    ["https://api.example.com.evil.com/", "DOMAIN_NOT_ALLOWED"],
    ["https://apiXexample.com/", "DOMAIN_NOT_ALLOWED"],
    ["https://8.8.8.8/", "DOMAIN_NOT_ALLOWED"],
    ["https://[2606:4700::1111]/", "DOMAIN_NOT_ALLOWED"],
    ["https://localhost/", "PRIVATE_ADDRESS_BLOCKED"],
    ["https://api.localhost/", "PRIVATE_ADDRESS_BLOCKED"],
  ])("%s → %s", (url, code) => {
    expect(checkEgressUrl(url, allow)).toEqual({ ok: false, code });
  });

  test("http with allowHttp passes only on port 80", () => {
    expect(checkEgressUrl("http://api.example.com/a", allow, { allowHttp: true }).ok).toBe(true);
    expect(checkEgressUrl("http://api.example.com:443/", allow, { allowHttp: true })).toEqual({
      ok: false,
      code: "PORT_NOT_ALLOWED",
    });
  });

  test("testOnlyAnyPort skips only the port rule", () => {
    expect(checkEgressUrl("https://api.example.com:8443/", allow, { testOnlyAnyPort: true }).ok).toBe(true);
    expect(checkEgressUrl("https://evil.com:8443/", allow, { testOnlyAnyPort: true }).ok).toBe(false);
  });

  test.each([
    "https://127.0.0.1/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0x7f.0x0.0x0.0x1/",
    "https://0177.0.0.1/",
    "https://0177.0000.0000.0001/",
    "https://127.1/",
    "https://127.0.1/",
    "https://017700000001/",
    "https://%31%32%37.0.0.1/",
    "https://１２７．０．０．１/",
    "https://127.0.0.1./",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[0:0:0:0:0:ffff:127.0.0.1]/",
    "https://[::127.0.0.1]/",
    "https://[64:ff9b::127.0.0.1]/",
    "https://[2002:7f00:1::]/",
    "https://[fe80::1]/",
    "https://[fd00:ec2::254]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://0xa9fea9fe/",
    "https://2852039166/",
    "https://100.100.100.200/",
    "https://0/",
    "https://0.0.0.0/",
    "https://10.0.0.1/",
    "https://192.168.0.1/",
    "https://172.16.0.1/",
  ])("IP literal %s → PRIVATE_ADDRESS_BLOCKED even when listed", (url) => {
    const host = new URL(url).hostname;
    expect(checkEgressUrl(url, [...allow, host, "127.0.0.1", "localhost"])).toEqual({
      ok: false,
      code: "PRIVATE_ADDRESS_BLOCKED",
    });
  });

  // ---- properties -------------------------------------------------------------------------------

  const validDomain = fc.domain().filter((d) => validateAllowlistEntry(d).ok);
  const pathArb = fc.array(fc.webSegment(), { maxLength: 5 }).map((s) => "/" + s.join("/"));
  const queryArb = fc.option(fc.webQueryParameters(), { nil: undefined }).map((q) => (q ? `?${q}` : ""));

  test("property: a URL whose host is not an allowlist entry is rejected", () => {
    const hostNotListed = fc
      .tuple(fc.array(validDomain, { minLength: 0, maxLength: 5 }), fc.oneof(validDomain, fc.domain()), fc.boolean())
      .map(([list, other, asSub]) => ({ list, host: asSub && list.length > 0 ? `${other}.${list[0]}` : other }));
    fc.assert(
      fc.property(hostNotListed, pathArb, queryArb, ({ list, host }, path, query) => {
        const normalized = normalizeAllowlist(list);
        const hostNorm = validateAllowlistEntry(host);
        fc.pre(!(hostNorm.ok && normalized.has(hostNorm.value)));
        const r = checkEgressUrl(`https://${host}${path}${query}`, list);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  const privateV4 = fc
    .constantFrom<[number, number]>(
      [0x0a000000, 8], // 10/8
      [0xac100000, 12], // 172.16/12
      [0xc0a80000, 16], // 192.168/16
      [0x7f000000, 8], // 127/8
      [0xa9fe0000, 16], // 169.254/16
      [0x64400000, 10], // 100.64/10
      [0x00000000, 8], // 0/8
      [0xe0000000, 4], // 224/4
      [0xf0000000, 4], // 240/4
      [0xc6120000, 15], // 198.18/15
    )
    .chain(([base, bits]) => fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((off) => (base + off) >>> 0));

  const octets = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const notations: Array<(n: number) => string> = [
    (n) => octets(n).join("."),
    (n) => String(n),
    (n) => "0x" + n.toString(16),
    (n) => "0" + n.toString(8),
    (n) =>
      octets(n)
        .map((o) => "0" + o.toString(8))
        .join("."),
    (n) =>
      octets(n)
        .map((o) => "0x" + o.toString(16))
        .join("."),
    (n) => `${n >>> 24}.${n & 0xffffff}`,
    (n) => `${n >>> 24}.${(n >>> 16) & 0xff}.${n & 0xffff}`,
    (n) => `[::ffff:${octets(n).join(".")}]`,
    (n) => `[::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}]`,
    (n) => `[0:0:0:0:0:ffff:${octets(n).join(".")}]`,
    (n) => `[64:ff9b::${octets(n).join(".")}]`,
    (n) => `[2002:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::1]`,
  ];

  test("property: private IPv4 in every notation is blocked (URL and isPublicAddress)", () => {
    fc.assert(
      fc.property(privateV4, fc.integer({ min: 0, max: notations.length - 1 }), pathArb, (n, which, path) => {
        const host = notations[which](n);
        const r = checkEgressUrl(`https://${host}${path}`, ["api.example.com", host, octets(n).join(".")]);
        expect(r).toEqual({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
        expect(isPublicAddress(octets(n).join("."))).toBe(false);
        expect(isPublicAddress(`::ffff:${octets(n).join(".")}`)).toBe(false);
        expect(isPublicAddress(`64:ff9b::${octets(n).join(".")}`)).toBe(false);
        expect(validateAllowlistEntry(host)).toEqual({ ok: false, code: "PRIVATE_ADDRESS_BLOCKED" });
      }),
      { numRuns: 1000 },
    );
  });

  test("property: an allowlisted public host with any path and query passes, fragment removed", () => {
    fc.assert(
      fc.property(
        validDomain,
        pathArb,
        queryArb,
        fc.option(fc.webFragments(), { nil: undefined }),
        (host, path, query, frag) => {
          const r = checkEgressUrl(`https://${host}${path}${query}${frag !== undefined ? "#" + frag : ""}`, [host]);
          expect(r.ok).toBe(true);
          if (r.ok) {
            expect(r.url.hostname).toBe((validateAllowlistEntry(host) as { value: string }).value);
            expect(r.url.hash).toBe("");
            expect(r.url.protocol).toBe("https:");
            expect(r.url.port).toBe("");
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
