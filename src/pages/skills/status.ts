import type { Doc } from "../../../convex/_generated/dataModel";

export type Skill = Doc<"skillRegistry">;
export type Status = Skill["status"];

export function statusTone(s: string): "ok" | "warn" | "danger" | "neutral" {
  return s === "approved"
    ? "ok"
    : s === "pending"
      ? "warn"
      : s === "rejected" || s === "disabled"
        ? "danger"
        : "neutral";
}
export const STATUS_TEXT: Record<Status, string> = {
  pending: "pending review",
  approved: "approved",
  rejected: "rejected",
  disabled: "disabled",
};

export const FILTERS: { label: string; status?: Status }[] = [
  { label: "All" },
  { label: "Pending review", status: "pending" },
  { label: "Approved", status: "approved" },
  { label: "Rejected", status: "rejected" },
  { label: "Disabled", status: "disabled" },
];
