/**
 * Shows an MCP App's HTML ONLY inside `<iframe sandbox="allow-scripts" srcdoc=…>`: no
 * allow-same-origin (the app gets an opaque origin: no cookies, storage or access to this page),
 * a CSP meta inside the document, and a message listener that accepts only messages from this
 * frame's window with origin "null". Note: a srcdoc document also inherits the page's own CSP.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { parseAppMessage, srcdocFor, type UiResource } from "./uiResource";

export function McpAppFrame({ resource, title }: { resource: UiResource; title: string }) {
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
  return (
    <div className="mcp-app-wrap">
      <iframe
        ref={ref}
        className="mcp-app"
        title={title}
        sandbox="allow-scripts"
        srcDoc={srcdoc}
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
