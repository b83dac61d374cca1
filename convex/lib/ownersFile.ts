import { z } from "zod";
import { parsePasswordHash } from "./password";

/**
 * The owners JSON (file `WARDEN_OWNERS_FILE`, default .data/owners.json, or env `WARDEN_OWNERS_JSON`).
 * Holds PBKDF2 hashes only, never passwords.
 */
export const OwnerEntry = z.object({
  ownerKey: z.string().regex(/^[a-zA-Z0-9_.@-]{3,64}$/),
  passwordHash: z
    .string()
    .refine((h) => parsePasswordHash(h) !== null, "not a pbkdf2_sha256 hash with >= 600000 iterations")
    .optional(),
  clerkUserId: z.string().min(1).max(128).optional(),
  /** operator-vouched address; `owners migrate-clerk` links the Clerk user with this verified email */
  email: z.string().trim().toLowerCase().email().max(254).optional(),
  role: z.enum(["owner", "admin", "viewer"]),
  active: z.boolean(),
  workspace: z
    .string()
    .regex(/^[a-z0-9-]{1,48}$/)
    .optional(),
});
export type OwnerEntry = z.infer<typeof OwnerEntry>;

/** Operator-declared Clerk organization links (`npm run owners -- link-org`); workspaces not listed keep theirs. */
export const OrgLinkEntry = z.object({
  workspace: z.string().regex(/^[a-z0-9-]{1,48}$/),
  clerkOrgId: z
    .string()
    .regex(/^org_[A-Za-z0-9]{1,64}$/)
    .nullable(),
  jit: z.boolean().optional(),
});
export type OrgLinkEntry = z.infer<typeof OrgLinkEntry>;

export const OwnersFile = z.object({
  version: z.literal(1),
  owners: z.array(OwnerEntry).max(1000),
  orgLinks: z.array(OrgLinkEntry).max(200).optional(),
});
export type OwnersFile = z.infer<typeof OwnersFile>;

export function parseOwnersJson(text: string): OwnersFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("owners JSON is not valid JSON");
  }
  const r = OwnersFile.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`owners JSON invalid at ${first.path.join(".") || "(root)"}: ${first.message}`);
  }
  const keys = new Set<string>();
  for (const o of r.data.owners) {
    if (keys.has(o.ownerKey)) throw new Error(`owners JSON lists ${o.ownerKey} twice`);
    keys.add(o.ownerKey);
  }
  const linked = new Set<string>();
  for (const l of r.data.orgLinks ?? []) {
    if (linked.has(l.workspace)) throw new Error(`owners JSON links workspace ${l.workspace} twice`);
    linked.add(l.workspace);
  }
  return r.data;
}
