/** Channel senders on the Channels page: the policy for unknown senders, pairing codes, each sender's trust. */
import { useState } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useMutate } from "../lib/data";
import { useCan } from "../auth/role";
import { Badge, Button, CopyButton, InlineError, Notice, RoleButton, Select } from "../ui/kit";

export type SenderPolicy = "open" | "pairing" | "allowlist";
type Trust = { trust: "unknown" | "paired" | "owner"; linkedToYou: boolean };

const POLICY_HELP: Record<SenderPolicy, string> = {
  open: "Anyone may talk to the agent; what it may do for them is set under Tool access.",
  pairing: "Unknown senders are asked to pair first (with a code from below) and don't reach the agent until they do.",
  allowlist: "Unknown senders are ignored without a reply; only paired senders and owners reach the agent.",
};
const POLICY_SHORT: Record<SenderPolicy, string> = {
  open: "Open",
  pairing: "Pairing required",
  allowlist: "Allowlist only",
};

export function SenderPolicySelect({
  channelId,
  policy,
}: {
  channelId: Id<"channelConfig">;
  policy: SenderPolicy | null;
}) {
  const set = useMutate(api.agency.pairing.setSenderPolicy);
  const isOwner = useCan("owner");
  const id = `sender-policy-${channelId}`;
  if (policy === null) return null;
  return (
    <div className="mt1">
      {isOwner ? (
        <div className="field">
          <label htmlFor={id}>Unknown senders</label>
          <Select
            id={id}
            className="input policy-select"
            value={policy}
            aria-describedby={`${id}-hint`}
            onChange={(e) => void set.run({ channelId, policy: e.target.value as SenderPolicy })}
          >
            {(Object.keys(POLICY_SHORT) as SenderPolicy[]).map((p) => (
              <option key={p} value={p}>
                {POLICY_SHORT[p]}
              </option>
            ))}
          </Select>
          <p className="hint" id={`${id}-hint`}>
            {POLICY_HELP[policy]}
          </p>
        </div>
      ) : (
        <p className="small">
          Unknown senders: <strong>{POLICY_SHORT[policy]}</strong>.{" "}
          <span className="muted">{POLICY_HELP[policy]} Only owners change this.</span>
        </p>
      )}
      <InlineError error={set.error} />
    </div>
  );
}

type Issued = { code: string; expiresAt: number; trust: "paired" | "owner" };

/** Makes a one-time code the sender types on the channel; the code is shown once. */
export function PairingCode({ channelId, channelName }: { channelId: Id<"channelConfig">; channelName: string }) {
  const create = useMutate(api.agency.pairing.createCode);
  const [issued, setIssued] = useState<Issued | null>(null);
  const make = async (trust: "paired" | "owner") => {
    const r = await create.run({ channelId, trust });
    if (r.ok) setIssued({ ...r.value, trust });
  };
  if (issued) {
    const command = `/pair ${issued.code}`;
    const until = new Date(issued.expiresAt).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    return (
      <Notice tone="ok" title={issued.trust === "owner" ? "Code to link your own identity" : "Pairing code"}>
        <p>
          {issued.trust === "owner"
            ? `From your own account, send this exact message to ${channelName}:`
            : `Give this to the person you want to pair. From their own account, they send this exact message to ${channelName}:`}
        </p>
        <div className="row mt1 mb2">
          <code className="token-box grow" data-testid="pairing-command">
            {command}
          </code>
          <CopyButton text={command} label="Copy message" />
        </div>
        <p className="small">
          Valid until {until} (15 minutes), for one use. It won't be shown again.
          {issued.trust === "owner"
            ? " The sender becomes you: the agent may use every tool owners may use."
            : " The sender becomes a paired contact."}
        </p>
        <Button onClick={() => setIssued(null)}>Done</Button>
      </Notice>
    );
  }
  return (
    <div className="mt1">
      <div className="row">
        <RoleButton need="admin" pending={create.pending} onClick={() => void make("paired")}>
          Generate pairing code
        </RoleButton>
        <RoleButton need="owner" pending={create.pending} onClick={() => void make("owner")}>
          Link my own identity
        </RoleButton>
      </div>
      <p className="hint">
        A sender who types the code becomes a paired contact (or, with your own code, is linked to your owner account).
      </p>
      <InlineError error={create.error} />
    </div>
  );
}

export function TrustCell({ t }: { t: Trust | undefined }) {
  if (!t) return <span className="muted">—</span>;
  if (t.trust === "owner")
    return (
      <Badge tone="accent" title="A person's own linked identity">
        {t.linkedToYou ? "owner (you)" : "owner"}
      </Badge>
    );
  if (t.trust === "paired") return <Badge tone="ok">paired</Badge>;
  return <Badge tone="neutral">unknown</Badge>;
}

export function TrustActions({
  channelUserId,
  who,
  t,
}: {
  channelUserId: Id<"channelUsers">;
  who: string;
  t: Trust | undefined;
}) {
  const set = useMutate(api.agency.pairing.setTrust);
  if (!t) return null;
  const next = t.trust === "unknown" ? "paired" : "unknown";
  const text = t.trust === "unknown" ? "Pair" : t.trust === "owner" ? "Unlink" : "Unpair";
  return (
    <>
      <RoleButton
        need="owner"
        className="btn-small"
        pending={set.pending}
        onClick={() => void set.run({ channelUserId, trust: next })}
        aria-label={`${text} ${who}`}
      >
        {text}
      </RoleButton>
      <InlineError error={set.error} />
    </>
  );
}
