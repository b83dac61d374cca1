/** Test-only environment: every value here is fake and used by tests only. */
export const TEST_ENV = {
  // the only mode in which the secrets guard lets the published test key below be used
  WARDEN_ENV: "test",
  AUTH_MODE: "builtin",
  WARDEN_AUTH_ISSUER: "https://warden.test",
  CONVEX_SITE_URL: "https://warden.test",
  CLERK_JWT_ISSUER_DOMAIN: "clerk.warden.test",
  WARDEN_ALLOWED_ORIGINS: "https://board.warden.test",
  WARDEN_PUBLIC_BASE_URL: "https://warden.test",
  // test-only key (32 bytes); never used outside tests
  SKILL_SECRET_ENCRYPTION_KEY: "dGVzdC1vbmx5LWtleS1kby1ub3QtdXNlLTAxMjM0NTY=",
  // test-only ES256 key
  WARDEN_AUTH_PRIVATE_JWK: JSON.stringify({
    kty: "EC",
    x: "mDfU8OIZuN9ChmBPXaVJWKW0ChWrKymjIren2utBszw",
    y: "N9iVqmyDaQPt1RuzzV4y860ES3N1jWLUeQXUu5hHEVQ",
    crv: "P-256",
    d: "BrVB8p3MmY9fCCo1d3t1Ul6bNuqx45v8u0ONpf-zdZo",
    kid: "test-1",
  }),
} as const;
