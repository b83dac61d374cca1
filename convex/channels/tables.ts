import { defineTable } from "convex/server";
import { v, type Validator, type VLiteral, type VObject, type VUnion } from "convex/values";
import { senderPolicyValidator, senderTrustValidator } from "../agency/tables";
import { ADAPTERS, PLATFORMS, type Platform } from "./platforms/index";

type PlatformLiteral = VLiteral<Platform, "required">;
/** One literal per platform in the registry (platforms/index.ts). */
export const platformValidator = v.union(
  ...(PLATFORMS.map((p) => v.literal(p)) as [PlatformLiteral, PlatformLiteral, ...PlatformLiteral[]]),
);

/** A channel's stored settings: non-secret strings keyed by the platform's settings fields. */
export type ChannelSettings = Record<string, string>;
type SettingsField = Validator<string | undefined, "required" | "optional", string>;
type SettingsObject = VObject<ChannelSettings, Record<string, SettingsField>>;

/**
 * One platform's stored settings, read off its adapter's strict zod schema (the only writer,
 * channels/manage.ts, stores that schema's output): the same keys, each a string, optional
 * exactly where the schema accepts it missing; no other key.
 */
export function storedSettingsValidator(platform: Platform): SettingsObject {
  const shape = (ADAPTERS[platform].settingsSchema as unknown as { shape: Record<string, ZodField> }).shape;
  const fields: Record<string, SettingsField> = {};
  for (const [key, field] of Object.entries(shape)) {
    fields[key] = field.safeParse(undefined).success ? v.optional(v.string()) : v.string();
  }
  return v.object(fields) as unknown as SettingsObject;
}
type ZodField = { safeParse(value: unknown): { success: boolean } };

/**
 * Stored settings of any platform: the union of every adapter's settings object (registry order).
 * Which member applies is fixed by the row's `platform`; manage.ts checks that pairing with the
 * platform's zod schema before writing, so the union is what the schema can state about a row.
 */
export const channelSettingsValidator = v.union(
  ...(PLATFORMS.map(storedSettingsValidator) as [SettingsObject, SettingsObject, ...SettingsObject[]]),
) as VUnion<ChannelSettings, SettingsObject[]>;

export const channelTables = {
  /** Non-secret channel settings only; secrets are in channelSecrets. */
  channelConfig: defineTable({
    workspaceId: v.id("workspaces"),
    platform: platformValidator,
    name: v.string(),
    enabled: v.boolean(),
    /** the platform's settings (channelSettingsValidator); secrets never sit here */
    settings: channelSettingsValidator,
    /** random per-channel salt for pseudonymous user ids (phone/e-mail platforms) */
    idSalt: v.optional(v.string()),
    /** unknown senders: "open" (talk, no tools by default), "pairing" (pair first) or "allowlist" (ignored); default open */
    senderPolicy: v.optional(senderPolicyValidator),
    /** delivery health: set by channels/delivery.ts when a reply finally fails or is delivered again */
    health: v.optional(
      v.object({
        failing: v.boolean(),
        lastFailureAt: v.optional(v.number()),
        lastFailureCode: v.optional(v.string()),
        lastOkAt: v.optional(v.number()),
        failures: v.number(),
      }),
    ),
    createdAt: v.number(),
    updatedAt: v.number(),
  })
    .index("by_workspace", ["workspaceId"])
    .index("by_workspace_platform", ["workspaceId", "platform"]),

  /** Keyed by the verified platform id. `contact` (phone/email) is for replying only. */
  channelUsers: defineTable({
    workspaceId: v.id("workspaces"),
    channelId: v.id("channelConfig"),
    platform: platformValidator,
    platformUserId: v.string(),
    displayName: v.optional(v.string()),
    contact: v.optional(v.string()),
    blocked: v.boolean(),
    /** agency audience: unknown (default), paired by an owner's code, or an owner's own identity */
    trust: v.optional(senderTrustValidator),
    /** the person this identity belongs to (trust "owner") */
    linkedOwnerId: v.optional(v.id("owners")),
    /** wrong pairing codes in a row; 5 lock pairing for this sender */
    pairFailures: v.optional(v.number()),
    /** Slack channel, Discord interaction token, Twilio "To" number or e-mail subject; never returned by a query */
    replyTarget: v.optional(v.string()),
    replyTargetExpiresAt: v.optional(v.number()),
    /** last "slow down" notice, at most one per limit window */
    limitNoticeAt: v.optional(v.number()),
    firstSeenAt: v.number(),
    lastSeenAt: v.number(),
  })
    .index("by_channel_user", ["channelId", "platformUserId"])
    .index("by_workspace", ["workspaceId"])
    .index("by_workspace_lastSeen", ["workspaceId", "lastSeenAt"])
    .index("by_workspace_trust", ["workspaceId", "trust"]),

  /** Dedupe of vendor deliveries (update_id, event_id, svix-id, MessageSid, interaction id). */
  webhookDeliveries: defineTable({
    workspaceId: v.id("workspaces"),
    channelId: v.id("channelConfig"),
    deliveryId: v.string(),
    receivedAt: v.number(),
  })
    .index("by_channel_delivery", ["channelId", "deliveryId"])
    .index("by_receivedAt", ["receivedAt"])
    .index("by_workspace_receivedAt", ["workspaceId", "receivedAt"]),

  /**
   * Replies waiting to be sent. The scheduler gets only the row's id, so reply text never sits in
   * `_scheduled_functions`; the row is deleted once the send succeeded or finally failed.
   */
  channelOutbox: defineTable({
    workspaceId: v.id("workspaces"),
    channelUserId: v.id("channelUsers"),
    text: v.string(),
    createdAt: v.number(),
    /** durable delivery (delivery.ts): a send claims the row ("sending") under a lease */
    state: v.optional(v.union(v.literal("queued"), v.literal("sending"))),
    attempts: v.optional(v.number()),
    leaseUntil: v.optional(v.number()),
    deadlineAt: v.optional(v.number()),
    /** set just before the vendor request leaves: after a crash the vendor may have the reply */
    dispatchedAt: v.optional(v.number()),
    /** sent as the vendor's idempotency key where it has one (Resend) */
    idemKey: v.optional(v.string()),
    /** the assistant message this reply carries; a final failure shows on it */
    messageId: v.optional(v.id("messages")),
  })
    .index("by_channelUser", ["channelUserId"])
    .index("by_workspace_created", ["workspaceId", "createdAt"])
    .index("by_lease", ["leaseUntil"]),

  channelMessageSummary: defineTable({
    workspaceId: v.id("workspaces"),
    channelId: v.id("channelConfig"),
    bucket: v.number(),
    inbound: v.number(),
    outbound: v.number(),
  })
    .index("by_workspace_bucket", ["workspaceId", "bucket"])
    .index("by_channel_bucket", ["channelId", "bucket"]),
};
