import { describe, expect, test } from "vitest";
import { generateKeyPair, exportJWK, SignJWT } from "jose";
import {
  signOwnerToken,
  verifyOwnerToken,
  jwksFromEnv,
  parsePrivateJwk,
  OWNER_TOKEN_TTL_SECONDS,
} from "../../convex/lib/ownerJwt";
import { TEST_ENV } from "../env";

const issuer = TEST_ENV.WARDEN_AUTH_ISSUER;
const priv = parsePrivateJwk(TEST_ENV.WARDEN_AUTH_PRIVATE_JWK);
const jwks = jwksFromEnv(TEST_ENV);
const claims = { sub: "owner1", wid: "ws1", auth_time: Math.floor(Date.now() / 1000) };

describe("owner JWTs (signature, issuer, audience, expiry)", () => {
  test("a fresh token verifies", async () => {
    const { token } = await signOwnerToken(claims, { privateJwk: priv, issuer });
    const p = await verifyOwnerToken(token, { jwks, issuer });
    expect(p.sub).toBe("owner1");
  });

  test("TTL is capped at 15 minutes even if a longer one is asked for", async () => {
    const { token } = await signOwnerToken(claims, { privateJwk: priv, issuer, ttlSeconds: 3600 });
    const p = await verifyOwnerToken(token, { jwks, issuer });
    expect(p.exp! - p.iat!).toBe(OWNER_TOKEN_TTL_SECONDS);
  });

  test("expired token is rejected", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const { token } = await signOwnerToken(claims, { privateJwk: priv, issuer, nowSeconds: past });
    await expect(verifyOwnerToken(token, { jwks, issuer })).rejects.toThrow(/exp/i);
  });

  test("token from an unknown issuer is rejected", async () => {
    const { token } = await signOwnerToken(claims, { privateJwk: priv, issuer: "https://evil.example" });
    await expect(verifyOwnerToken(token, { jwks, issuer })).rejects.toThrow(/iss/i);
  });

  test("tampered signature / payload is rejected", async () => {
    const { token } = await signOwnerToken(claims, { privateJwk: priv, issuer });
    const [h, p, s] = token.split(".");
    const flipped = s.slice(0, -2) + (s.at(-2) === "A" ? "B" : "A") + s.at(-1);
    await expect(verifyOwnerToken(`${h}.${p}.${flipped}`, { jwks, issuer })).rejects.toThrow();
    const payload = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
    payload.wid = "someone-elses-workspace";
    const forged = btoa(JSON.stringify(payload)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    await expect(verifyOwnerToken(`${h}.${forged}.${s}`, { jwks, issuer })).rejects.toThrow();
  });

  test("token signed by another key is rejected; alg none is rejected", async () => {
    const other = await generateKeyPair("ES256", { extractable: true });
    const otherJwk = { ...(await exportJWK(other.privateKey)), kid: priv.kid };
    const { token } = await signOwnerToken(claims, { privateJwk: otherJwk as any, issuer });
    await expect(verifyOwnerToken(token, { jwks, issuer })).rejects.toThrow();
    const none = `${btoa(JSON.stringify({ alg: "none" }))}.${btoa(JSON.stringify({ ...claims, iss: issuer, aud: "warden" }))}.`;
    await expect(verifyOwnerToken(none, { jwks, issuer })).rejects.toThrow();
  });

  test("wrong audience (e.g. a Clerk `convex` token) is rejected", async () => {
    const key = await (await import("jose")).importJWK(priv, "ES256");
    const token = await new SignJWT({ wid: "ws1", auth_time: claims.auth_time })
      .setProtectedHeader({ alg: "ES256", kid: priv.kid })
      .setSubject("owner1")
      .setIssuer(issuer)
      .setAudience("convex")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
    await expect(verifyOwnerToken(token, { jwks, issuer })).rejects.toThrow(/aud/i);
  });

  test("JWKS never contains the private part and keeps previous keys for rotation", () => {
    const prev = { kty: "EC", crv: "P-256", x: "abc", y: "def", kid: "old-1" };
    const set = jwksFromEnv({
      ...TEST_ENV,
      WARDEN_AUTH_PREVIOUS_PUBLIC_JWKS: JSON.stringify([prev, { ...prev, d: "secret" }]),
    });
    expect(set.keys.map((k) => k.kid)).toEqual([priv.kid, "old-1"]);
    expect(JSON.stringify(set)).not.toContain('"d"');
  });
});
