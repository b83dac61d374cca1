/**
 * Linking existing owners to Clerk users by verified email (`npm run owners -- migrate-clerk`). Pure:
 * reads Clerk's user objects (an export, or pages of the Backend API's GET /v1/users) and keeps, per
 * user, only the addresses whose verification status is "verified".
 */
export type ClerkUserEmails = { id: string; emails: string[] };

const USER_ID = /^user_[A-Za-z0-9]{1,64}$/;

function verifiedEmails(u: Record<string, unknown>): string[] {
  const list = Array.isArray(u.email_addresses) ? u.email_addresses : [];
  const out = new Set<string>();
  for (const e of list as Array<Record<string, unknown>>) {
    const addr = typeof e?.email_address === "string" ? e.email_address.trim().toLowerCase() : "";
    const status = (e?.verification as Record<string, unknown> | null | undefined)?.status;
    if (addr && addr.length <= 254 && addr.includes("@") && status === "verified") out.add(addr);
  }
  return [...out];
}

/** Clerk users from an export (an array, or `{ data: [...] }` as the API pages it). Unusable entries are counted, not guessed. */
export function parseClerkUsers(raw: unknown): { users: ClerkUserEmails[]; skipped: number } {
  const list = Array.isArray(raw)
    ? raw
    : raw && typeof raw === "object" && Array.isArray((raw as { data?: unknown }).data)
      ? (raw as { data: unknown[] }).data
      : null;
  if (!list) throw new Error("not a Clerk user list (expected an array of users or { data: [...] })");
  const users: ClerkUserEmails[] = [];
  let skipped = 0;
  const seen = new Set<string>();
  for (const u of list as Array<Record<string, unknown>>) {
    const id = typeof u?.id === "string" ? u.id : "";
    if (!USER_ID.test(id) || seen.has(id)) {
      skipped++;
      continue;
    }
    seen.add(id);
    users.push({ id, emails: verifiedEmails(u) });
  }
  return { users, skipped };
}

/** Every user from the Clerk Backend API (paged, 100 at a time), with the secret key sent only to api.clerk.com. */
export async function fetchClerkUsers(
  secretKey: string,
  fetchImpl: typeof fetch,
  apiBase = "https://api.clerk.com",
): Promise<ClerkUserEmails[]> {
  const out: ClerkUserEmails[] = [];
  for (let offset = 0; offset < 100_000; offset += 100) {
    const res = await fetchImpl(`${apiBase}/v1/users?limit=100&offset=${offset}&order_by=created_at`, {
      headers: { Authorization: `Bearer ${secretKey}` },
      redirect: "error",
    });
    if (!res.ok) throw new Error(`Clerk Backend API answered HTTP ${res.status}`);
    const page = parseClerkUsers(await res.json()).users;
    out.push(...page);
    if (page.length < 100) break;
  }
  return out;
}
