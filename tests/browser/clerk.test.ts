// @vitest-environment node
// The Clerk path end to end (issue 22 item 7): the real <ClerkProvider> + ConvexProviderWithClerk from
// @clerk/clerk-react, with Clerk's script (which can't load here) replaced by a stub window.Clerk served
// at the URL ClerkProvider loads it from. The stub's session.getToken answers a JWT signed by a key the
// runtime gets as the issuer's JWKS (answered in-process), shaped like Clerk's v2 session token with an
// active organization (o.id / o.rol). Signed in, the person lands in the workspace linked to that
// organization; after sign-out, a new token of the same Clerk session is refused server-side.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { ConvexHttpClient } from "convex/browser";
import { api } from "../../convex/_generated/api";
import { HAS_CHROMIUM, OWNERS, newPage, shot, startEnv, type Env } from "./harness";

const SID = "sess_stubClerkSession01";
const ORG = "org_acmeStub";

describe.skipIf(!HAS_CHROMIUM)(
  "Clerk sign-in through ConvexProviderWithClerk (stubbed Clerk)",
  { timeout: 90_000 },
  () => {
    let env: Env;
    let restoreFetch = () => {};
    let issuer = "";
    let key: CryptoKey;
    const kid = "stub-key-1";

    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ sid: SID, o: { id: ORG, rol: "admin" }, v: 2, ...claims })
        .setProtectedHeader({ alg: "RS256", kid })
        .setIssuer(issuer)
        .setAudience("convex")
        .setSubject("user_claraStub")
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(key);

    beforeAll(async () => {
      const pair = await generateKeyPair("RS256");
      key = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
      // The runtime runs in this process: its JWKS fetch for the Clerk issuer is answered here (no network).
      issuer = "https://clerk.stub.test";
      const realFetch = globalThis.fetch;
      restoreFetch = () => (globalThis.fetch = realFetch);
      globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (url === `${issuer}/.well-known/jwks.json`)
          return new Response(JSON.stringify({ keys: [jwk] }), {
            status: 200,
            headers: { "Content-Type": "application/json" },
          });
        return realFetch(input, init);
      }) as typeof fetch;
      const host = new URL(issuer).host;
      // The publishable key names the Clerk frontend API: ClerkProvider loads https://<it>/npm/@clerk/clerk-js@5/…
      const publishable = `pk_test_${Buffer.from(`${host}$`).toString("base64")}`;
      env = await startEnv({
        env: { AUTH_MODE: "clerk", CLERK_JWT_ISSUER_DOMAIN: issuer },
        buildEnv: { VITE_CLERK_PUBLISHABLE_KEY: publishable },
      });
      // Clara: a Clerk user linked to an owner whose workspace is linked to the active organization.
      await env.rt.engine.callSystem("owners/admin:syncOwners", {
        owners: [
          ...OWNERS.map((o) => ({ ownerKey: o.ownerKey, role: o.role, active: true })),
          { ownerKey: "clara", clerkUserId: "user_claraStub", role: "owner", active: true, workspace: "acme" },
        ],
        orgLinks: [{ workspace: "acme", clerkOrgId: ORG }],
      });
    }, 120_000);
    afterAll(async () => {
      await env?.close();
      restoreFetch();
    });

    it("signs in with an active organization, lands in the linked workspace; sign-out ends the session server-side", async () => {
      const token = await sign({});
      const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
      ctx.setDefaultTimeout(20_000);
      const host = new URL(issuer).host;
      let scriptServed = 0;
      // The stub clerk-js: the surface @clerk/clerk-react uses (load, addListener, on/off, session.getToken, signOut, mountSignIn).
      const stub = `(() => {
      const TOKEN = ${JSON.stringify(token)};
      window.__tokenCalls = [];
      const user = { id: "user_claraStub", primaryEmailAddress: null, organizationMemberships: [{ organization: { id: ${JSON.stringify(ORG)} }, role: "org:admin", permissions: [] }] };
      const organization = { id: ${JSON.stringify(ORG)}, slug: "acme" };
      const claims = JSON.parse(atob(TOKEN.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      const session = { id: ${JSON.stringify(SID)}, status: "active", actor: null, user, lastActiveToken: { jwt: { claims: { ...claims, __raw: TOKEN } }, getRawString: () => TOKEN },
        getToken: async (opts) => { window.__tokenCalls.push(opts || {}); return TOKEN; } };
      let signedIn = true;
      const listeners = new Set();
      const state = () => signedIn ? { client: { sessions: [session], signedInSessions: [session] }, session, user, organization } : { client: { sessions: [], signedInSessions: [] }, session: null, user: null, organization: null };
      const emit = () => listeners.forEach((cb) => cb(state()));
      window.Clerk = {
        loaded: false, version: "5.0.0-stub", telemetry: undefined,
        async load() { this.loaded = true; },
        get client() { return state().client; }, get session() { return state().session; }, get user() { return state().user; }, get organization() { return state().organization; },
        addListener(cb) { listeners.add(cb); cb(state()); return () => listeners.delete(cb); },
        get status() { return this.loaded ? "ready" : "loading"; },
        on(event, cb) { if (event === "status") setTimeout(() => cb(window.Clerk.status), 0); }, off() {},
        async signOut() { signedIn = false; emit(); },
        mountSignIn(node) { node.textContent = "Stub Clerk sign-in"; }, unmountSignIn(node) { node.textContent = ""; },
        async setActive() {},
      };
    })();`;
      await ctx.route(`https://${host}/**`, (route) => {
        scriptServed++;
        return route.fulfill({ status: 200, contentType: "application/javascript", body: stub });
      });
      const page = await newPage(ctx);
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text().slice(0, 300));
      });
      await page.goto(`${env.rt.url}/`);
      await page
        .getByRole("heading", { level: 1, name: "Overview" })
        .waitFor()
        .catch(async (e) => {
          throw new Error(
            `${e}\npage: ${(await page.locator("#root").innerHTML()).slice(0, 1500)}\nproblems: ${page.problems.join(" | ")}\nscript served: ${scriptServed}\nconsole: ${consoleErrors.join(" | ")}`,
          );
        });
      expect(scriptServed).toBeGreaterThan(0);
      // ConvexProviderWithClerk fetched the token through Clerk's session.getToken: a session token whose
      // aud is "convex" (Clerk's native Convex integration) is used as is, with no JWT template.
      const calls = (await page.evaluate(() => (window as any).__tokenCalls)) as Array<Record<string, unknown>>;
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every((c) => "skipCache" in c && !("template" in c))).toBe(true);
      // The linked workspace, resolved server-side from the token's active organization.
      await page.getByText("acme").first().waitFor();
      expect(await page.locator("body").innerText()).toContain("clara");
      await shot(page, "55-clerk-stub-signed-in");

      const direct = new ConvexHttpClient(env.rt.url);
      direct.setAuth(await sign({}));
      expect(await direct.query(api.workspaces.manage.current, {})).toMatchObject({ name: "acme", role: "owner" });

      await page.getByRole("button", { name: "Sign out", exact: true }).first().click();
      await page.getByText("Stub Clerk sign-in").waitFor();
      // A fresh token of the same Clerk session (what a refresh would return) no longer works in Warden.
      const after = new ConvexHttpClient(env.rt.url);
      after.setAuth(await sign({}));
      await expect(after.query(api.workspaces.manage.current, {})).rejects.toThrow(/SESSION_ENDED/);
      expect(page.problems.filter((p) => p.startsWith("csp"))).toEqual([]);
      await ctx.close();
    });
  },
);
