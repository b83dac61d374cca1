/** SyncBoard: picks the sign-in path (built-in owner sign-in, Clerk, or both) and mounts the shell. */
import { Suspense, lazy, useEffect, useMemo, useState, type FormEvent } from "react";
import { ConvexProviderWithAuth, type ConvexReactClient } from "convex/react";
import { clientFor } from "./lib/client";
import type { WardenConfig } from "./lib/config";
import { makeUseBuiltinAuth, signIn, signOut, useOwnerSignedIn } from "./auth/builtin";
import { AuthedShell } from "./Shell";
import { ConfigContext } from "./lib/configContext";
import { Button, Card, Field, InlineError, Input, Loading, Notice } from "./ui/kit";
import { errorInfo, formatWait, type ErrorInfo } from "./lib/errors";
import { usePath } from "./lib/router";
import { SetPasswordPage } from "./pages/SetPassword";
import { ConnectionBanner } from "./ui/ConnectionBanner";

const ClerkBoard = lazy(() => import("./auth/ClerkBoard"));

const CHOICE_KEY = "warden.authChoice";

export default function Board({ cfg }: { cfg: WardenConfig }) {
  return (
    <ConfigContext.Provider value={cfg}>
      <BoardInner cfg={cfg} />
    </ConfigContext.Provider>
  );
}

function BoardInner({ cfg }: { cfg: WardenConfig }) {
  const client = clientFor(cfg.convexUrl, "board");
  const clerkPossible = cfg.authMode !== "builtin" && !!cfg.clerkPublishableKey;
  const builtinPossible = cfg.authMode !== "clerk";
  const [choice, setChoice] = useState<"clerk" | "builtin" | null>(() => {
    const c = sessionStorage.getItem(CHOICE_KEY);
    return c === "clerk" || c === "builtin" ? c : null;
  });
  const choose = (c: "clerk" | "builtin" | null) => {
    if (c) sessionStorage.setItem(CHOICE_KEY, c);
    else sessionStorage.removeItem(CHOICE_KEY);
    setChoice(c);
  };

  if (!builtinPossible && !clerkPossible) {
    return (
      <div className="center-page">
        <Card className="signin">
          <Notice tone="danger" title="Sign-in is not configured">
            <p>
              This server only accepts Clerk sign-in (AUTH_MODE=clerk), but this build of SyncBoard has no Clerk
              publishable key. Rebuild it with <code>VITE_CLERK_PUBLISHABLE_KEY</code>, or set{" "}
              <code>AUTH_MODE=both</code> to allow the built-in owner sign-in.
            </p>
          </Notice>
        </Card>
      </div>
    );
  }
  if (clerkPossible && (choice === "clerk" || !builtinPossible)) {
    return (
      <Suspense fallback={<CenterLoading label="Loading Clerk…" />}>
        <ClerkBoard
          client={client}
          publishableKey={cfg.clerkPublishableKey!}
          onUseBuiltin={builtinPossible ? () => choose("builtin") : undefined}
        />
      </Suspense>
    );
  }
  return <BuiltinBoard client={client} cfg={cfg} onUseClerk={clerkPossible ? () => choose("clerk") : undefined} />;
}

function CenterLoading({ label }: { label: string }) {
  return (
    <div className="center-page">
      <Loading label={label} />
    </div>
  );
}

function BuiltinBoard({
  client,
  cfg,
  onUseClerk,
}: {
  client: ConvexReactClient;
  cfg: WardenConfig;
  onUseClerk?: () => void;
}) {
  const useAuth = useMemo(() => makeUseBuiltinAuth(cfg.siteUrl), [cfg.siteUrl]);
  const signedIn = useOwnerSignedIn();
  const [ended, setEnded] = useState(false);
  const path = usePath();
  // An invitee's one-time link: public, outside the signed-in shell.
  if (path === "/set-password") return <SetPasswordPage siteUrl={cfg.siteUrl} />;
  return (
    <ConvexProviderWithAuth client={client} useAuth={useAuth}>
      <ConnectionBanner />
      {signedIn ? (
        <AuthedShell
          provider="builtin"
          signOut={() => {
            setEnded(false);
            signOut();
          }}
          onRejected={() => {
            setEnded(true);
            signOut();
          }}
        />
      ) : (
        <SignInPage siteUrl={cfg.siteUrl} onUseClerk={onUseClerk} sessionEnded={ended} />
      )}
    </ConvexProviderWithAuth>
  );
}

function SignInPage({
  siteUrl,
  onUseClerk,
  sessionEnded,
}: {
  siteUrl: string;
  onUseClerk?: () => void;
  sessionEnded: boolean;
}) {
  const [ownerKey, setOwnerKey] = useState("");
  const [password, setPassword] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  useEffect(() => {
    document.title = "Sign in · Warden";
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setPending(true);
    setError(null);
    try {
      await signIn(siteUrl, ownerKey.trim(), password);
      setPassword("");
    } catch (err) {
      setError(errorInfo(err));
    } finally {
      setPending(false);
    }
  };
  return (
    <div className="center-page">
      <main className="signin" id="main">
        <div className="brand">
          <img src="/favicon.svg" alt="" />
          Warden
        </div>
        <Card>
          <h1 className="signin-title">Sign in to SyncBoard</h1>
          <p className="muted small">
            Use the owner key and password you were given. The first owner's password is printed once when the server
            starts.
          </p>
          {sessionEnded ? <Notice tone="warn">Your session ended. Sign in again to continue.</Notice> : null}
          <form onSubmit={submit} noValidate>
            <Field label="Owner key">
              {(p) => (
                <Input
                  {...p}
                  name="ownerKey"
                  autoComplete="username"
                  value={ownerKey}
                  onChange={(e) => setOwnerKey(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="Password">
              {(p) => (
                <Input
                  {...p}
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  required
                />
              )}
            </Field>
            {error ? (
              <>
                <InlineError error={error} />
                {error.code === "RATE_LIMITED" && error.retryAfterMs ? (
                  <p className="small muted">Try again in {formatWait(error.retryAfterMs)}.</p>
                ) : null}
              </>
            ) : null}
            <div className="row mt1">
              <Button
                type="submit"
                variant="primary"
                className="full"
                pending={pending}
                disabled={!ownerKey || !password}
              >
                Sign in
              </Button>
            </div>
          </form>
          {onUseClerk ? (
            <>
              <div className="divider">or</div>
              <Button variant="secondary" onClick={onUseClerk} className="full">
                Sign in with Clerk
              </Button>
            </>
          ) : null}
        </Card>
        <p className="small muted center-text mt2">
          Looking for the public chat? <a href="/chat">Open chat</a>
        </p>
      </main>
    </div>
  );
}
