/**
 * Test-only wiring for egress tests. Wraps the real safeFetch so that every request is sent to
 * the local test server: the URL's port is swapped for the server's, every name resolves to
 * `egress.address` (127.0.0.1 unless a test sets another), and safeFetch's loopback override is on (it also needs
 * WARDEN_TEST_ALLOW_LOOPBACK=1, set by the test). All other egress rules run unchanged.
 *
 *   vi.mock("../../convex/lib/safeFetch.node", async (orig) => (await import("./egressMock")).wrap(await orig()));
 */
export const fetched: Array<{ url: string; init: any }> = [];
export const egress = {
  port: 0,
  calls: 0,
  address: "127.0.0.1",
  /** Send https URLs as plain http to the local server (for code skills that hard-code https). */
  httpsAsHttp: false,
};

export function wrap(real: any) {
  return {
    ...real,
    safeFetch: (url: string, init: any) => {
      egress.calls++;
      fetched.push({ url, init });
      let local = url.replace(/^(https?:\/\/[^/:?#]+)(?::\d+)?/, `$1:${egress.port}`);
      if (egress.httpsAsHttp) local = local.replace(/^https:/, "http:");
      return real.safeFetch(local, {
        ...init,
        ...(egress.httpsAsHttp ? { allowHttp: true } : {}),
        testOnlyAllowLoopback: true,
        lookup: async () => [{ address: egress.address, family: egress.address.includes(":") ? 6 : 4 }],
      });
    },
  };
}
