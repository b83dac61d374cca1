import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
  authorizationServerMetadata,
  checkRedirectUri,
  constantTimeEqual,
  isOAuthShape,
  issuerUrl,
  pkceS256,
  redirectUriMatches,
  syncBoardUrl,
  verifyPkce,
} from "./oauth";
import { OAuthMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";

describe("PKCE S256 (RFC 7636)", () => {
  test("appendix B test vector", async () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(await pkceS256(verifier)).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    expect(await verifyPkce(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(true);
  });

  test("a plain challenge (the verifier itself) never verifies; nor a wrong or malformed verifier", async () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(await verifyPkce(verifier, verifier)).toBe(false);
    expect(await verifyPkce("x".repeat(43), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(false);
    expect(await verifyPkce("short", await pkceS256("short"))).toBe(false);
    expect(await verifyPkce("a".repeat(129), await pkceS256("a".repeat(129)))).toBe(false);
    expect(await verifyPkce("a b".repeat(20), await pkceS256("a b".repeat(20)))).toBe(false);
  });

  test("constantTimeEqual agrees with ===", () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => constantTimeEqual(a, b) === (a === b)));
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});

describe("redirect URIs", () => {
  test("https and loopback http only; no fragment, no user info, no custom scheme", () => {
    for (const ok of [
      "https://claude.ai/api/mcp/auth_callback",
      "http://127.0.0.1:33418/callback",
      "http://localhost:6274/oauth/callback",
      "http://[::1]:8080/cb",
      "https://vscode.dev/redirect",
    ]) {
      expect(checkRedirectUri(ok)).toEqual({ ok: true, uri: ok });
    }
    for (const bad of [
      "http://example.com/cb",
      "http://127.0.0.2.nip.io/cb",
      "https://example.com/cb#frag",
      "https://user:pw@example.com/cb",
      "cursor://anysphere.cursor-mcp/oauth/callback",
      "javascript:alert(1)",
      "data:text/html,x",
      "/relative",
      "",
      `https://example.com/${"a".repeat(600)}`,
      "https://exa mple.com/cb",
      42,
    ]) {
      expect(checkRedirectUri(bad).ok, String(bad)).toBe(false);
    }
  });

  test("exact match; a loopback URI may change only its port", () => {
    const reg = ["https://app.example/cb", "http://127.0.0.1:33418/callback"];
    expect(redirectUriMatches(reg, "https://app.example/cb")).toBe(true);
    expect(redirectUriMatches(reg, "https://app.example/cb/")).toBe(false);
    expect(redirectUriMatches(reg, "https://app.example/cb?x=1")).toBe(false);
    expect(redirectUriMatches(reg, "http://127.0.0.1:5555/callback")).toBe(true);
    expect(redirectUriMatches(reg, "http://127.0.0.1:5555/other")).toBe(false);
    expect(redirectUriMatches(reg, "http://localhost:33418/callback")).toBe(false);
  });
});

describe("shapes, issuer and metadata", () => {
  test("token shapes are distinct per kind", () => {
    const body = "A".repeat(43);
    expect(isOAuthShape("access", `wdn_oat_${body}`)).toBe(true);
    expect(isOAuthShape("refresh", `wdn_oat_${body}`)).toBe(false);
    expect(isOAuthShape("code", `wdn_oac_${body}x`)).toBe(false);
  });

  test("issuer = public base URL; metadata is what the SDK accepts, S256 only", () => {
    expect(issuerUrl({ WARDEN_PUBLIC_BASE_URL: "https://w.example/" })).toBe("https://w.example");
    expect(issuerUrl({ CONVEX_SITE_URL: "https://x.convex.site" })).toBe("https://x.convex.site");
    expect(issuerUrl({ WARDEN_PUBLIC_BASE_URL: "ftp://w" })).toBeNull();
    expect(syncBoardUrl({ WARDEN_ALLOWED_ORIGINS: "https://board.example, https://other" })).toBe(
      "https://board.example",
    );
    expect(
      syncBoardUrl({ WARDEN_SYNCBOARD_URL: "https://sb.example/", WARDEN_ALLOWED_ORIGINS: "https://board.example" }),
    ).toBe("https://sb.example");
    const m = authorizationServerMetadata("https://w.example");
    expect(OAuthMetadataSchema.parse(m)).toBeTruthy();
    expect(m.code_challenge_methods_supported).toEqual(["S256"]);
    expect(m.token_endpoint).toBe("https://w.example/oauth/token");
  });
});
