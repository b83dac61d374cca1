import { ConvexReactClient } from "convex/react";

const clients = new Map<string, ConvexReactClient>();

/** One client per backend URL and purpose, for the page's lifetime (StrictMode-safe: never closed by an effect). */
export function clientFor(url: string, purpose: "board" | "chat"): ConvexReactClient {
  const key = `${purpose}:${url}`;
  let c = clients.get(key);
  if (!c) {
    c = new ConvexReactClient(url, { unsavedChangesWarning: false });
    clients.set(key, c);
  }
  return c;
}
