/** Where the backend is: /warden-config.json (embedded runtime) or VITE_* build variables (real Convex). */
export type AuthMode = "builtin" | "clerk" | "both";

export type WardenConfig = {
  convexUrl: string;
  siteUrl: string;
  authMode: AuthMode;
  /** Publishable (public by design); null when this build has none. */
  clerkPublishableKey: string | null;
};

function httpUrl(v: unknown): string | null {
  if (typeof v !== "string") return null;
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:" ? v.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
}

function authModeOf(v: unknown): AuthMode | null {
  return v === "builtin" || v === "clerk" || v === "both" ? v : null;
}

export async function loadConfig(): Promise<WardenConfig> {
  const env = import.meta.env;
  const clerkPublishableKey = (env.VITE_CLERK_PUBLISHABLE_KEY as string | undefined) || null;
  try {
    const res = await fetch("/warden-config.json", { cache: "no-store", credentials: "omit" });
    if (res.ok && (res.headers.get("content-type") ?? "").includes("json")) {
      const raw = (await res.json()) as Record<string, unknown>;
      const convexUrl = httpUrl(raw.convexUrl);
      const siteUrl = httpUrl(raw.siteUrl);
      if (convexUrl && siteUrl)
        return { convexUrl, siteUrl, authMode: authModeOf(raw.authMode) ?? "builtin", clerkPublishableKey };
    }
  } catch {
    // no runtime config: fall back to build-time variables
  }
  const convexUrl = httpUrl(env.VITE_CONVEX_URL);
  if (!convexUrl) throw new Error("CONFIG_MISSING");
  const siteUrl = httpUrl(env.VITE_CONVEX_SITE_URL) ?? convexUrl.replace(/\.convex\.cloud$/, ".convex.site");
  const authMode = authModeOf(env.VITE_AUTH_MODE) ?? (clerkPublishableKey ? "clerk" : "builtin");
  return { convexUrl, siteUrl, authMode, clerkPublishableKey };
}
