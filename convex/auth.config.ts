import { authModeFrom, builtinIssuer, clerkIssuer } from "./lib/authMode";

// AUTH_MODE=clerk|builtin|both selects the providers (the dual-auth flag).
const env = process.env;
const mode = authModeFrom(env);
const providers: any[] = [];

const clerk = clerkIssuer(env);
if ((mode === "clerk" || mode === "both") && clerk) {
  providers.push({ domain: clerk, applicationID: "convex" });
}
const builtin = builtinIssuer(env);
if ((mode === "builtin" || mode === "both") && builtin) {
  providers.push({
    type: "customJwt",
    applicationID: "warden",
    issuer: builtin,
    jwks: `${(env.CONVEX_SITE_URL ?? builtin).replace(/\/+$/, "")}/.well-known/jwks.json`,
    algorithm: "ES256",
  });
}

export default { providers };
