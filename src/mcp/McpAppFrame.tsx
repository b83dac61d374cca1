/**
 * Shows an MCP App in `<iframe sandbox="allow-scripts" src="{siteUrl}/mcp-app-sandbox">`: a page on the
 * backend's site origin (never this one) with its own CSP, which renders the HTML in a nested
 * sandboxed srcdoc frame. No allow-same-origin, so the sandbox page's origin is "null": the HTML is
 * posted once with targetOrigin "*" (it is only what the owner is viewing), and only messages whose
 * source is this frame's window are accepted. The HTML never enters SyncBoard's own DOM.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { useConfig } from "../lib/configContext";
import { parseAppMessage, srcdocFor, type UiResource } from "./uiResource";

const APP_SANDBOX_PATH = "/mcp-app-sandbox";

export function McpAppFrame({ resource, title }: { resource: UiResource; title: string }) {
  const { siteUrl } = useConfig();
  const ref = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState(240);
  const [notes, setNotes] = useState<string[]>([]);
  const srcdoc = useMemo(() => srcdocFor(resource.html), [resource.html]);
  useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      const frame = ref.current;
      if (!frame || event.source !== frame.contentWindow || event.origin !== "null") return;
      const msg = parseAppMessage(event.data);
      if (!msg) return;
      if (msg.kind === "size") setHeight(msg.height);
      else setNotes((n) => [...n.slice(-4), msg.text]);
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, []);
  // Posted once per load of the sandbox page; the page itself accepts only the first message.
  const onLoad = () => ref.current?.contentWindow?.postMessage({ type: "warden:mcp-app", html: srcdoc }, "*");
  return (
    <div className="mcp-app-wrap">
      <iframe
        // A new document for new HTML (the sandbox page renders only once).
        key={srcdoc}
        ref={ref}
        className="mcp-app"
        title={title}
        sandbox="allow-scripts"
        src={`${siteUrl}${APP_SANDBOX_PATH}`}
        onLoad={onLoad}
        referrerPolicy="no-referrer"
        allow=""
        height={height}
        data-uri={resource.uri}
      />
      {notes.length ? (
        <ul className="list-plain small" aria-live="polite" aria-label="Messages from the app">
          {notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
