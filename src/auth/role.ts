import { createContext, useContext } from "react";

export type Role = "owner" | "admin" | "viewer";
const RANK: Record<Role, number> = { viewer: 0, admin: 1, owner: 2 };

export type Session = {
  role: Role;
  ownerKey: string;
  workspaceName: string;
  provider: "builtin" | "clerk";
  signOut: () => void;
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside the signed-in shell");
  return s;
}

/** UX only: the server decides again on every call. */
export function useCan(need: Role): boolean {
  const s = useContext(SessionContext);
  return !!s && RANK[s.role] >= RANK[need];
}

export function roleAtLeast(role: Role, need: Role): boolean {
  return RANK[role] >= RANK[need];
}
