/**
 * MCP Apps: find `text/html` UI resources in a tool result. Pure; the HTML is only ever handed to
 * McpAppFrame (a sandboxed iframe on the sandbox origin (/mcp-app-sandbox)), never inserted into SyncBoard's own DOM.
 */
export type UiResource = { uri: string; mimeType: string; html: string };

const MAX_HTML = 512 * 1024;

function asResource(v: unknown): UiResource | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  // Shaped result: { ui: [{ uri, mimeType, html }] }
  if (typeof o.html === "string" && typeof o.mimeType === "string" && /^text\/html\b/i.test(o.mimeType)) {
    return { uri: typeof o.uri === "string" ? o.uri : "ui://app", mimeType: o.mimeType, html: o.html };
  }
  // Raw MCP content item: { type: "resource", resource: { uri, mimeType, text } }
  const r = o.resource as Record<string, unknown> | undefined;
  if (
    o.type === "resource" &&
    r &&
    typeof r.text === "string" &&
    typeof r.mimeType === "string" &&
    /^text\/html\b/i.test(r.mimeType)
  ) {
    return { uri: typeof r.uri === "string" ? r.uri : "ui://app", mimeType: r.mimeType, html: r.text };
  }
  return null;
}

export function uiResourcesOf(result: unknown): UiResource[] {
  if (!result || typeof result !== "object") return [];
  const o = result as Record<string, unknown>;
  const out: UiResource[] = [];
  for (const list of [o.ui, o.content]) {
    if (!Array.isArray(list)) continue;
    for (const item of list.slice(0, 10)) {
      const r = asResource(item);
      if (r && r.html.length <= MAX_HTML) out.push(r);
    }
  }
  return out;
}

/** A logged preview is JSON only when it wasn't truncated. */
export function uiResourcesFromPreview(preview: string): UiResource[] {
  if (!preview || preview.length > MAX_HTML * 2) return [];
  try {
    return uiResourcesOf(JSON.parse(preview));
  } catch {
    return [];
  }
}

/** The CSP every MCP App document gets (inside the srcdoc, on top of the page's own policy). */
export const APP_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'";

export function srcdocFor(html: string): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${APP_CSP}">`;
  // The CSP meta must come before anything it governs.
  if (/<head[^>]*>/i.test(html)) return html.replace(/<head[^>]*>/i, (m) => `${m}${meta}`);
  return `<!doctype html><html><head>${meta}<meta charset="utf-8"></head><body>${html}</body></html>`;
}

/** Messages an app may send; everything else is ignored. */
export type AppMessage = { kind: "size"; height: number } | { kind: "notify"; text: string };

export function parseAppMessage(data: unknown): AppMessage | null {
  if (!data || typeof data !== "object") return null;
  const d = data as Record<string, unknown>;
  const params = (d.params ?? d.payload) as Record<string, unknown> | undefined;
  const type = typeof d.method === "string" ? d.method : typeof d.type === "string" ? d.type : "";
  if (
    (type === "ui/notifications/size-changed" || type === "ui-size-change") &&
    params &&
    typeof params.height === "number" &&
    Number.isFinite(params.height)
  ) {
    return { kind: "size", height: Math.round(Math.min(1200, Math.max(80, params.height))) };
  }
  if ((type === "notify" || type === "ui/notifications/message") && params) {
    const text =
      typeof params.message === "string" ? params.message : typeof params.text === "string" ? params.text : "";
    if (text) return { kind: "notify", text: text.slice(0, 300) };
  }
  return null;
}
