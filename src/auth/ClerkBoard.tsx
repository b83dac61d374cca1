/** Clerk sign-in (loaded only when chosen: Clerk's scripts come from its CDN and can't load offline). */
import { useEffect, useState } from "react";
import {
  ClerkFailed,
  ClerkLoaded,
  ClerkLoading,
  ClerkProvider,
  SignIn,
  SignedIn,
  SignedOut,
  useAuth,
  useClerk,
} from "@clerk/clerk-react";
import { ConvexProviderWithClerk } from "convex/react-clerk";
import type { ConvexReactClient } from "convex/react";
import { AuthedShell } from "../Shell";
import { Button, Card, Loading, Notice } from "../ui/kit";
import { ConnectionBanner } from "../ui/ConnectionBanner";

const LOAD_TIMEOUT_MS = 8_000;

function SlowClerk({ onUseBuiltin, failed }: { onUseBuiltin?: () => void; failed?: boolean }) {
  const [slow, setSlow] = useState(!!failed);
  useEffect(() => {
    const t = setTimeout(() => setSlow(true), LOAD_TIMEOUT_MS);
    return () => clearTimeout(t);
  }, []);
  return (
    <div className="center-page">
      <main className="signin" id="main">
        <div className="brand">
          <img src="/favicon.svg" alt="" />
          Warden
        </div>
        <Card>
          {slow ? (
            <Notice tone="warn" title="Clerk isn't responding">
              <p>Clerk's sign-in couldn't be loaded (it needs internet access to Clerk).</p>
              {onUseBuiltin ? (
                <Button variant="primary" onClick={onUseBuiltin}>
                  Use owner key sign-in instead
                </Button>
              ) : null}
            </Notice>
          ) : (
            <Loading label="Loading Clerk sign-in…" />
          )}
        </Card>
      </main>
    </div>
  );
}

function ClerkShell() {
  const clerk = useClerk();
  return <AuthedShell provider="clerk" signOut={() => void clerk.signOut()} onRejected={() => void clerk.signOut()} />;
}

export default function ClerkBoard({
  client,
  publishableKey,
  onUseBuiltin,
}: {
  client: ConvexReactClient;
  publishableKey: string;
  onUseBuiltin?: () => void;
}) {
  return (
    <ClerkProvider publishableKey={publishableKey} afterSignOutUrl="/">
      <ConvexProviderWithClerk client={client} useAuth={useAuth}>
        <ConnectionBanner />
        <ClerkLoading>
          <SlowClerk onUseBuiltin={onUseBuiltin} />
        </ClerkLoading>
        <ClerkFailed>
          <SlowClerk onUseBuiltin={onUseBuiltin} failed />
        </ClerkFailed>
        <ClerkLoaded>
          <SignedOut>
            <div className="center-page">
              <main id="main" className="stack">
                <SignIn routing="hash" />
                {onUseBuiltin ? (
                  <p className="center-text">
                    <Button variant="ghost" onClick={onUseBuiltin}>
                      Use owner key sign-in instead
                    </Button>
                  </p>
                ) : null}
              </main>
            </div>
          </SignedOut>
          <SignedIn>
            <ClerkShell />
          </SignedIn>
        </ClerkLoaded>
      </ConvexProviderWithClerk>
    </ClerkProvider>
  );
}
