/**
 * The anonymous chat session: the server mints a random token (POST /chat/session, per-IP limit)
 * and stores only its hash; the browser keeps it in localStorage and presents it on every call.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { CodedError, errorInfo, type ErrorInfo } from "../lib/errors";

const KEY = "warden.chatSession";

type Stored = { token: string; expiresAt: number };

function load(): Stored | null {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "null") as Stored | null;
    if (v && typeof v.token === "string" && typeof v.expiresAt === "number" && v.expiresAt > Date.now() + 60_000)
      return v;
  } catch {
    // ignore
  }
  return null;
}

function save(v: Stored | null) {
  try {
    if (v) localStorage.setItem(KEY, JSON.stringify(v));
    else localStorage.removeItem(KEY);
  } catch {
    // storage disabled: the session lives as long as the page
  }
}

async function start(siteUrl: string): Promise<Stored> {
  const res = await fetch(`${siteUrl}/chat/session`, { method: "POST", credentials: "omit", cache: "no-store" });
  let body: Record<string, unknown> = {};
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  if (!res.ok || typeof body.token !== "string" || typeof body.expiresAt !== "number") {
    const retry = Number(res.headers.get("Retry-After"));
    throw new CodedError(
      {
        code: typeof body.error === "string" ? body.error : "INTERNAL",
        retryAfterMs: retry > 0 ? retry * 1000 : undefined,
      },
      res.status,
    );
  }
  return { token: body.token, expiresAt: body.expiresAt };
}

export function useChatSession(siteUrl: string) {
  const [token, setToken] = useState<string | null>(() => load()?.token ?? null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const starting = useRef(false);

  const begin = useCallback(async () => {
    if (starting.current) return;
    starting.current = true;
    setError(null);
    try {
      const s = await start(siteUrl);
      save(s);
      setToken(s.token);
    } catch (e) {
      setError(errorInfo(e));
    } finally {
      starting.current = false;
    }
  }, [siteUrl]);

  useEffect(() => {
    if (!token && !error) void begin();
  }, [token, error, begin]);

  /** The server refused the token (expired, revoked, blocked): forget it and start over. */
  const restart = useCallback(() => {
    save(null);
    setToken(null);
    setError(null);
  }, []);

  return { token, error, retry: begin, restart };
}
