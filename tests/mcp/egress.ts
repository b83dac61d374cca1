/**
 * Test-only egress wiring for the MCP client. Wraps the real safeFetch so that a request to a
 * registered test host goes to its local SDK server: https://<host>/path → http://<host>:<port>/path,
 * the host resolves to `egress.address`, and safeFetch's loopback override is requested. The
 * override also needs WARDEN_TEST_ALLOW_LOOPBACK=1 (set by the test). Every other egress rule
 * runs unchanged (allowlist = the server's host, address vetting, no redirects, byte caps).
 *
 *   vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egress")).wrap(await orig()));
 */
export const egress = {
  ports: new Map<string, number>(),
  /** what every test host resolves to */
  address: "127.0.0.1",
  fetched: [] as Array<{ url: string; init: any }>,
};

export function wrap(real: any) {
  return {
    ...real,
    safeFetch: (url: string, init: any) => {
      egress.fetched.push({ url, init });
      const u = new URL(url);
      const port = egress.ports.get(u.hostname);
      if (port === undefined) return real.safeFetch(url, init);
      const local = `http://${u.hostname}:${port}${u.pathname}${u.search}`;
      return real.safeFetch(local, {
        ...init,
        allowHttp: true,
        testOnlyAllowLoopback: true,
        lookup: async () => [{ address: egress.address, family: egress.address.includes(":") ? 6 : 4 }],
      });
    },
  };
}

/** Turns on safeFetch's test-only loopback override for this process (tests and the bench only). */
export function allowLoopbackInThisProcess() {
  process.env.WARDEN_TEST_ALLOW_LOOPBACK = "1";
}
