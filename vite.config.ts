import { defineConfig, loadEnv, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

/** The Clerk Frontend API origin encoded in a publishable key (pk_test_/pk_live_ + base64("host$")). */
export function clerkOrigin(publishableKey: string | undefined): string | null {
  const m = /^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/.exec(publishableKey ?? "");
  if (!m) return null;
  try {
    const host = Buffer.from(m[1], "base64").toString("utf8").replace(/\$$/, "");
    return /^[a-z0-9.-]+$/i.test(host) ? `https://${host}` : null;
  } catch {
    return null;
  }
}

function origin(url: string | undefined): string | null {
  try {
    return url ? new URL(url).origin : null;
  } catch {
    return null;
  }
}

/**
 * A CSP <meta> for hosts that serve dist/ without headers. The embedded runtime also sends an
 * exact CSP header (both apply; the stricter wins). No inline scripts or styles are needed.
 */
export function metaCsp(env: Record<string, string | undefined>): string {
  const clerk = clerkOrigin(env.VITE_CLERK_PUBLISHABLE_KEY);
  const convex = origin(env.VITE_CONVEX_URL);
  const site = origin(env.VITE_CONVEX_SITE_URL) ?? (convex ? convex.replace(/\.convex\.cloud$/, ".convex.site") : null);
  // Known backend at build time → exact origins. Otherwise the backend comes from /warden-config.json
  // at run time (embedded runtime, any host), and the runtime's exact CSP header does the pinning.
  const connect = convex
    ? [convex, convex.replace(/^http/, "ws"), site].filter(Boolean).join(" ")
    : "ws: wss: http: https:";
  return [
    "default-src 'self'",
    `script-src 'self'${clerk ? ` ${clerk}` : ""}`,
    `style-src 'self'${clerk ? " 'unsafe-inline'" : ""}`,
    `img-src 'self' data: blob:${clerk ? ` ${clerk} https://img.clerk.com` : ""}`,
    "font-src 'self' data:",
    `connect-src 'self' ${connect}${clerk ? ` ${clerk}` : ""}`,
    // MCP Apps: the site origin's /mcp-app-sandbox (unknown backend: the runtime's header pins it).
    `frame-src ${site ?? "http: https:"}${clerk ? ` ${clerk}` : ""}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join("; ");
}

function cspMeta(env: Record<string, string | undefined>): Plugin {
  return {
    name: "warden-csp-meta",
    // Build only: the dev server's React Refresh preamble is an inline script.
    apply: "build",
    transformIndexHtml(html) {
      const value = metaCsp(env).replace(/"/g, "&quot;");
      return html.replace("<!--CSP-->", `<meta http-equiv="Content-Security-Policy" content="${value}" />`);
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), "VITE_"), ...pickVite(process.env) };
  return {
    plugins: [react(), cspMeta(env)],
    envPrefix: "VITE_",
    build: { outDir: "dist", sourcemap: false, emptyOutDir: true, chunkSizeWarningLimit: 900 },
    server: {
      port: 5173,
      strictPort: false,
      // Without VITE_CONVEX_URL (real Convex, `npm run dev`), the dev UI reads the embedded runtime's
      // URLs from `npm start` on 3210. Either way the backend must allow this origin (WARDEN_ALLOWED_ORIGINS).
      proxy: env.VITE_CONVEX_URL ? undefined : { "/warden-config.json": "http://127.0.0.1:3210" },
    },
  };
});

function pickVite(e: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e)) if (k.startsWith("VITE_") && v !== undefined) out[k] = v;
  return out;
}
