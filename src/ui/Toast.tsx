/**
 * Save toasts: a short success message after a change went through (useMutate shows one by
 * default). One polite live region, newest last, each gone after TOAST_MS or when dismissed.
 */
import { useSyncExternalStore } from "react";
import "./toast.css";

export const TOAST_MS = 4000;
const MAX_TOASTS = 3;

type Item = { id: number; text: string };
let items: Item[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((l) => l());

function dismiss(id: number) {
  items = items.filter((t) => t.id !== id);
  emit();
}

/** Shows a success message for a few seconds. */
export function toast(text: string) {
  const id = nextId++;
  items = [...items, { id, text }].slice(-MAX_TOASTS);
  emit();
  setTimeout(() => dismiss(id), TOAST_MS);
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
}

export function Toaster() {
  const list = useSyncExternalStore(subscribe, () => items);
  // The live region stays mounted so screen readers announce each new message.
  return (
    <div className="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div className="toast" key={t.id} data-testid="toast">
          <span className="toast-mark" aria-hidden="true">
            ✓
          </span>
          <span>{t.text}</span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
