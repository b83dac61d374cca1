/** AUTH_MODE: which identity providers are accepted. Flipping it back is the rollback. */
export type AuthMode = "clerk" | "builtin" | "both";

export function authModeFrom(env: Record<string, string | undefined>): AuthMode {
  const raw = (env.AUTH_MODE ?? "builtin").trim().toLowerCase();
  if (raw === "clerk" || raw === "builtin" || raw === "both") return raw;
  // Unknown values fail closed to the built-in issuer only.
  return "builtin";
}

export function clerkIssuer(env: Record<string, string | undefined>): string | null {
  const d = env.CLERK_JWT_ISSUER_DOMAIN?.trim();
  if (!d) return null;
  return (d.startsWith("http") ? d : `https://${d}`).replace(/\/+$/, "");
}

export function builtinIssuer(env: Record<string, string | undefined>): string | null {
  const i = (env.WARDEN_AUTH_ISSUER ?? env.CONVEX_SITE_URL)?.trim();
  return i ? i.replace(/\/+$/, "") : null;
}

/** Which provider a verified identity's issuer belongs to, under the current mode; null = not accepted. */
export function providerForIssuer(issuer: string, env: Record<string, string | undefined>): "clerk" | "builtin" | null {
  const mode = authModeFrom(env);
  const iss = issuer.replace(/\/+$/, "");
  if ((mode === "builtin" || mode === "both") && iss === builtinIssuer(env)) return "builtin";
  if ((mode === "clerk" || mode === "both") && iss === clerkIssuer(env)) return "clerk";
  return null;
}
