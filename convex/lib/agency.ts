/**
 * The agency boundary, as pure rules: on whose behalf the agent acts, and what that audience may
 * make a tool do. The checker decides whether a tool may run at all; these rules decide for whom.
 * No Convex imports.
 */

/** Who an agent run acts for. MCP clients are scoped by their token and are not an audience here. */
export type Audience = "webVisitor" | "unknownSender" | "pairedSender" | "ownerSender";
export const AUDIENCES: readonly Audience[] = ["webVisitor", "unknownSender", "pairedSender", "ownerSender"];

export const AUDIENCE_LABEL: Record<Audience, string> = {
  webVisitor: "Web visitors (/chat)",
  unknownSender: "Unknown channel senders",
  pairedSender: "Paired channel senders",
  ownerSender: "Owners (linked channel identity)",
};

export type Policy = "deny" | "ask" | "allow";
export type RiskClass = "local" | "openWorld" | "sideEffect";
export type SenderTrust = "unknown" | "paired" | "owner";
/** How a channel treats senders it does not know. */
export type SenderPolicy = "open" | "pairing" | "allowlist";

/** Defaults when the owner has not set a grant: nothing for strangers, ask for paired, allow for owners. */
export const DEFAULT_POLICY: Record<Audience, Policy> = {
  webVisitor: "deny",
  unknownSender: "deny",
  pairedSender: "ask",
  ownerSender: "allow",
};

export type Grant = Partial<Record<Audience, Policy>> & { riskClass?: RiskClass };

export function policyFor(grant: Grant | null | undefined, audience: Audience): Policy {
  return grant?.[audience] ?? DEFAULT_POLICY[audience];
}

export function audienceOf(thread: { web: boolean; trust?: SenderTrust }): Audience {
  if (thread.web) return "webVisitor";
  if (thread.trust === "owner") return "ownerSender";
  if (thread.trust === "paired") return "pairedSender";
  return "unknownSender";
}

/**
 * Untrusted content is in the run's context from the start when strangers wrote it (web visitors,
 * unknown senders), when it arrives on a channel whose messages are third-party content (e-mail:
 * anyone can forge a sender; the adapter's `untrustedContent`), when the model is
 * offered MCP tools (their descriptions are a third party's text), or when an earlier tainted
 * answer is still in the history the model sees.
 */
export function taintedFromStart(s: {
  audience: Audience;
  /** the channel's messages are third-party content (its adapter's `untrustedContent`) */
  untrustedChannel: boolean;
  mcpToolsOffered: boolean;
  taintedHistory: boolean;
}): boolean {
  return (
    s.audience === "webVisitor" ||
    s.audience === "unknownSender" ||
    s.untrustedChannel ||
    s.mcpToolsOffered ||
    s.taintedHistory
  );
}

export type Decision =
  { run: true } | { run: false; ask: true; reason: "grant_ask" | "tainted_side_effect" } | { run: false; ask: false };

/**
 * The gate for one call: the grant, then the taint rule — once untrusted content is in the
 * context, a side-effect tool needs an owner's approval whatever its grant.
 */
export function decide(policy: Policy, risk: RiskClass, tainted: boolean): Decision {
  if (policy === "deny") return { run: false, ask: false };
  if (policy === "ask") return { run: false, ask: true, reason: "grant_ask" };
  if (tainted && risk === "sideEffect") return { run: false, ask: true, reason: "tainted_side_effect" };
  return { run: true };
}

/** A tool result puts untrusted content into the context unless the owner classified the tool as local. */
export function taints(risk: RiskClass | undefined): boolean {
  return risk !== "local";
}

/** Default class for a skill the owner has not classified: anything that reaches the network has side effects. */
export function defaultSkillRisk(reachesNetwork: boolean): RiskClass {
  return reachesNetwork ? "sideEffect" : "local";
}

/**
 * A suggestion from MCP tool annotations, shown to the owner; never applied without confirmation
 * (a server can claim anything). Unclassified MCP tools are treated as side effects.
 */
export function suggestedMcpRisk(hints: { readOnly?: boolean; openWorld?: boolean } | undefined): RiskClass {
  if (hints?.readOnly === true) return hints.openWorld === false ? "local" : "openWorld";
  return "sideEffect";
}
export const DEFAULT_MCP_RISK: RiskClass = "sideEffect";

export function skillToolRef(name: string): string {
  return `skill:${name}`;
}
export function mcpToolRef(serverId: string, tool: string): string {
  return `mcp:${serverId}/${tool}`;
}

/** Canonical JSON (sorted keys) so an approved input matches exactly the input that runs. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort())
        out[k] = norm((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(norm(value ?? null));
}

/** Pairing codes: 10 characters of an unambiguous alphabet (≈ 50 bits), typed as `/pair CODE`. */
export const PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
export const PAIRING_CODE_LENGTH = 10;
export const PAIRING_TTL_MS = 15 * 60 * 1000;
export const APPROVAL_TTL_MS = 24 * 60 * 60 * 1000;

export function newPairingCode(random: (n: number) => Uint8Array): string {
  const bytes = random(PAIRING_CODE_LENGTH * 2);
  let out = "";
  for (let i = 0; out.length < PAIRING_CODE_LENGTH && i < bytes.length; i++) {
    // rejection sampling keeps the distribution uniform
    if (bytes[i] < 256 - (256 % PAIRING_ALPHABET.length)) out += PAIRING_ALPHABET[bytes[i] % PAIRING_ALPHABET.length];
  }
  return out.length === PAIRING_CODE_LENGTH ? out : newPairingCode(random);
}

/** `/pair CODE` (case-insensitive, spaces and dashes ignored) → the normalized code, else null. */
export function parsePairCommand(text: string): string | null {
  const m = /^\s*\/pair\s+([A-Za-z0-9 -]{4,40})\s*$/.exec(text);
  if (!m) return null;
  const code = m[1].replace(/[\s-]/g, "").toUpperCase();
  return code.length === PAIRING_CODE_LENGTH ? code : "";
}
