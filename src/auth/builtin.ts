/**
 * Built-in owner sign-in: owner key + password → a ≤15-minute ES256 JWT from POST /auth/signin,
 * kept in memory and sessionStorage (gone when the tab closes), refreshed through /auth/refresh
 * before it expires (the server caps a sign-in at 12 h). Sign-out ends the session on the server first
 * (Shell calls owners/sessions:signOut), then forgets it. Switching workspace asks the server for a token
 * naming the other workspace (POST /auth/switch; membership checked there).
 *
 * Tabs of the same browser share the sign-in over a same-origin BroadcastChannel: a new tab asks,
 * a signed-in tab answers with its current short-lived token (the same ≤15-minute token, refreshed
 * by each tab on its own within the server's 12 h cap: nothing lives longer, nothing goes to
 * localStorage), and signing out in one tab signs out every tab.
 */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { CodedError } from "../lib/errors";

export type OwnerToken = { token: string; expiresAt: number };

const KEY = "warden.ownerToken";
const REFRESH_MARGIN_MS = 90_000;
/** Right after the server accepts a token the Convex client asks for a fresh one; a token received this recently is. */
const JUST_RECEIVED_MS = 5_000;
/** When this tab received the current token (local clock, so server clock skew doesn't matter). */
let receivedAt = 0;

function readStored(): OwnerToken | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as OwnerToken;
    if (typeof v.token !== "string" || typeof v.expiresAt !== "number" || v.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return { token: v.token, expiresAt: v.expiresAt };
  } catch {
    return null;
  }
}

let current: OwnerToken | null = typeof sessionStorage === "undefined" ? null : readStored();
/** Changes on sign-in and sign-out only (not on refresh), so Convex re-authenticates only then. */
let generation = 0;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((l) => l());

export const ownerSession = {
  get: () => current,
  set(t: OwnerToken, newSignIn: boolean) {
    current = t;
    receivedAt = Date.now();
    if (newSignIn) generation++;
    try {
      sessionStorage.setItem(KEY, JSON.stringify(t));
    } catch {
      // storage unavailable: memory only
    }
    emit();
  },
  clear() {
    if (!current) return;
    current = null;
    generation++;
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // ignore
    }
    emit();
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

async function postJson(url: string, body: unknown, token?: string): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const code =
      data && typeof (data as { error?: unknown }).error === "string" ? (data as { error: string }).error : "INTERNAL";
    const retry = Number(res.headers.get("Retry-After"));
    throw new CodedError(
      { code, retryAfterMs: Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined },
      res.status,
    );
  }
  return data;
}

function asToken(v: unknown): OwnerToken {
  const t = v as OwnerToken;
  if (!t || typeof t.token !== "string" || typeof t.expiresAt !== "number") throw new CodedError({ code: "INTERNAL" });
  return { token: t.token, expiresAt: t.expiresAt };
}

// ---------------------------------------------------------------------------------------------
// other tabs

type TabMessage = { type: "ask" } | { type: "token"; token: string; expiresAt: number } | { type: "signout" };
const TAB_CHANNEL = "warden.ownerAuth";
/** A token this close to expiry is not handed to another tab (it would have to refresh at once). */
const HANDOVER_MIN_MS = 10_000;
const tabs: BroadcastChannel | null = (() => {
  try {
    return typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(TAB_CHANNEL);
  } catch {
    return null;
  }
})();

function tell(m: TabMessage) {
  try {
    tabs?.postMessage(m);
  } catch {
    // channel closed: this tab only
  }
}

function shareCurrent() {
  const t = current;
  if (t && t.expiresAt - Date.now() > HANDOVER_MIN_MS) tell({ type: "token", token: t.token, expiresAt: t.expiresAt });
}

if (tabs) {
  tabs.onmessage = (e: MessageEvent) => {
    const m = e.data as TabMessage | null;
    if (!m || typeof m !== "object") return;
    if (m.type === "ask") shareCurrent();
    else if (m.type === "token") {
      // only a signed-out tab takes a token; one already signed in keeps its own
      if (
        current ||
        typeof m.token !== "string" ||
        typeof m.expiresAt !== "number" ||
        m.expiresAt - Date.now() <= HANDOVER_MIN_MS
      )
        return;
      ownerSession.set({ token: m.token, expiresAt: m.expiresAt }, true);
    } else if (m.type === "signout") ownerSession.clear();
  };
  if (!current) tell({ type: "ask" });
}

export async function signIn(siteUrl: string, ownerKey: string, password: string): Promise<void> {
  const t = asToken(await postJson(`${siteUrl}/auth/signin`, { ownerKey, password }));
  ownerSession.set(t, true);
  shareCurrent(); // signed-out tabs of this browser sign in too
}

/** Redeems a one-time set-password code (invitees); answers the owner key to sign in with. */
export async function setInitialPassword(siteUrl: string, code: string, password: string): Promise<string> {
  const r = (await postJson(`${siteUrl}/auth/set-password`, { code, password })) as { ownerKey?: unknown } | null;
  if (!r || typeof r.ownerKey !== "string") throw new CodedError({ code: "INTERNAL" });
  return r.ownerKey;
}

/** Signs this tab out and tells the other tabs (the server session is already ended by the caller). */
export function signOut() {
  ownerSession.clear();
  tell({ type: "signout" });
}

/** Moves this sign-in to another workspace the person is an active member of; Convex re-authenticates. */
export async function switchWorkspace(siteUrl: string, workspaceId: string): Promise<void> {
  const t = current;
  if (!t) throw new CodedError({ code: "UNAUTHENTICATED" });
  const next = asToken(await postJson(`${siteUrl}/auth/switch`, { workspaceId }, t.token));
  ownerSession.set(next, true);
}

let inflight: Promise<string | null> | null = null;

/** A fresh token: the stored one if it has time left, else a refreshed one; null → signed out. */
export function freshToken(siteUrl: string, force: boolean): Promise<string | null> {
  const t = current;
  if (!t) return Promise.resolve(null);
  const now = Date.now();
  if (!force && t.expiresAt - now > REFRESH_MARGIN_MS) return Promise.resolve(t.token);
  if (force && now - receivedAt < JUST_RECEIVED_MS) return Promise.resolve(t.token);
  inflight ??= (async () => {
    try {
      const next = asToken(await postJson(`${siteUrl}/auth/refresh`, {}, t.token));
      if (current?.token === t.token) ownerSession.set(next, false);
      return next.token;
    } catch (e) {
      // Network trouble: keep the current token while it is still valid. Refused: sign out.
      if (!(e instanceof CodedError) && t.expiresAt > Date.now()) return t.token;
      if (current?.token === t.token) ownerSession.clear();
      return null;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

/** The `useAuth` hook for ConvexProviderWithAuth. */
export function makeUseBuiltinAuth(siteUrl: string) {
  return function useBuiltinAuth() {
    const signedIn = useSyncExternalStore(ownerSession.subscribe, () => current !== null);
    const gen = useSyncExternalStore(ownerSession.subscribe, () => generation);
    const fetchAccessToken = useCallback(
      ({ forceRefreshToken }: { forceRefreshToken: boolean }) => freshToken(siteUrl, forceRefreshToken),
      [gen],
    );
    // One "loading" render per sign-in, so ConvexProviderWithAuth waits for the server's verdict
    // instead of reporting the signed-out state it had before.
    const [seenGen, setSeenGen] = useState(gen);
    useEffect(() => {
      if (seenGen !== gen) setSeenGen(gen);
    }, [gen, seenGen]);
    const isLoading = signedIn && seenGen !== gen;
    return useMemo(
      () => ({ isLoading, isAuthenticated: signedIn, fetchAccessToken }),
      [isLoading, signedIn, fetchAccessToken],
    );
  };
}

export function useOwnerSignedIn(): boolean {
  return useSyncExternalStore(ownerSession.subscribe, () => current !== null);
}
