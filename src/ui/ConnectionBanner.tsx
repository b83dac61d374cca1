/** The Convex client's connection: a "reconnecting" banner while the socket is down, and a flag forms use to refuse sends. */
import { useEffect, useState } from "react";
import { useConvexConnectionState } from "convex/react";
import "./connection.css";

/** A reconnect shorter than this (token refresh, server restart) shows no banner. */
const BANNER_DELAY_MS = 1000;

export function useConnection(): { down: boolean; lost: boolean; pending: number } {
  const s = useConvexConnectionState();
  const down = s.hasEverConnected && !s.isWebSocketConnected;
  const [lost, setLost] = useState(false);
  useEffect(() => {
    if (!down) {
      setLost(false);
      return;
    }
    const t = setTimeout(() => setLost(true), BANNER_DELAY_MS);
    return () => clearTimeout(t);
  }, [down]);
  return { down, lost, pending: s.inflightMutations + s.inflightActions };
}

export function ConnectionBanner() {
  const { lost, pending } = useConnection();
  // The live region stays mounted so screen readers announce the change.
  return (
    <div className="conn-banner-slot" role="status" aria-live="polite">
      {lost ? (
        <div className="conn-banner" data-testid="connection-lost">
          <span className="spinner" aria-hidden="true" />
          <span>
            <strong>Connection lost — reconnecting…</strong>{" "}
            {pending > 0
              ? `${pending} ${pending === 1 ? "change is" : "changes are"} not saved yet and will be sent when the connection is back.`
              : "Nothing you do now is saved until the connection is back."}
          </span>
        </div>
      ) : null}
    </div>
  );
}
