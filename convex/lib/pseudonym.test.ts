import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { accountPseudonym, ipNetwork, ipPseudonym, minimizeSource, minimizeText } from "./pseudonym";

const KEY = "test-pseudonym-key";

describe("pseudonyms for security events", () => {
  test("IPv4 → /24 + keyed tag; IPv6 → /48; IPv4-mapped like IPv4", async () => {
    expect(ipNetwork("203.0.113.77")).toBe("203.0.113.0/24");
    expect(ipNetwork("::ffff:203.0.113.77")).toBe("203.0.113.0/24");
    expect(ipNetwork("2001:db8:abcd:12::1")).toBe("2001:db8:abcd::/48");
    expect(ipNetwork("1234")).toBeNull();
    expect(ipNetwork("not-an-ip")).toBeNull();
    const a = await ipPseudonym("203.0.113.77", KEY);
    expect(a).toMatch(/^203\.0\.113\.0\/24~[0-9a-f]{8}$/);
    expect(await ipPseudonym("203.0.113.77", KEY)).toBe(a); // groups repeats
    expect(await ipPseudonym("203.0.113.78", KEY)).not.toBe(a); // tells neighbours apart
    expect(await ipPseudonym("203.0.113.77", "other-key")).not.toBe(a); // keyed: not a plain hash
    expect(await ipPseudonym("203.0.113.77", undefined)).toBe("203.0.113.0/24"); // no key: coarse only
  });

  test("account names keep their last characters and a tag", async () => {
    const p = await accountPseudonym("ada@example.com", KEY);
    expect(p).toMatch(/^….com~[0-9a-f]{8}$/);
    expect(p).not.toContain("ada");
    expect(await accountPseudonym("bob", KEY)).toMatch(/^…~[0-9a-f]{8}$/);
  });

  test("free text: every address and account=… replaced, nothing else touched", async () => {
    const t = await minimizeText(
      "account=ada@example.com reason=bad_password; mcp: bad token ip=198.51.100.23 via 2001:db8::7 at 10:20:30 limit=chatPerIp",
      KEY,
    );
    expect(t).not.toMatch(/198\.51\.100\.23|2001:db8::7|ada@/);
    expect(t).toContain("reason=bad_password");
    expect(t).toContain("at 10:20:30 limit=chatPerIp");
    expect(t).toMatch(/ip=198\.51\.100\.0\/24~[0-9a-f]{8}/);
    expect(await minimizeSource("ip:198.51.100.23", KEY)).toMatch(/^ip:198\.51\.100\.0\/24~[0-9a-f]{8}$/);
    expect(await minimizeSource("session:abc", KEY)).toBe("session:abc");
    const glued = await minimizeText("from=ip:203.0.113.50 seen 198.51.100.7. and [2001:db8::1]:443, ::1", KEY);
    expect(glued).not.toMatch(/203\.0\.113\.50|198\.51\.100\.7\b|2001:db8::1\]|::1$/);
    expect(glued).toMatch(/^from=ip:203\.0\.113\.0\/24~[0-9a-f]{8} seen 198\.51\.100\.0\/24~[0-9a-f]{8}\. and/);
  });

  test("a destination (host=…) is not a person: kept as is", async () => {
    expect(await minimizeText("skill=egress_probe host=169.254.169.254", KEY)).toBe(
      "skill=egress_probe host=169.254.169.254",
    );
    expect(await minimizeText("host=10.0.0.1 from ip=10.0.0.2", KEY)).toMatch(
      /^host=10\.0\.0\.1 from ip=10\.0\.0\.0\/24~[0-9a-f]{8}$/,
    );
  });

  test("property: no IPv4 address survives in any text", async () => {
    await fc.assert(
      fc.asyncProperty(fc.ipV4(), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), async (ip, pre, post) => {
        const out = await minimizeText(`${pre} ip=${ip} ${post}`, KEY);
        expect(out.includes(` ip=${ip} `)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
