/**
 * Light/dark theme: follows the system (prefers-color-scheme) unless the person chose one with the
 * toggle; the choice is kept in localStorage (not sensitive). The resolved theme is set as
 * `data-theme` on <html>, which styles.css keys its dark palette on.
 */
import { useSyncExternalStore } from "react";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "warden.theme";
const EVENT = "warden:theme";

function media(): MediaQueryList | null {
  return typeof window !== "undefined" && window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
}

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

export function resolvedTheme(choice = themeChoice()): "light" | "dark" {
  return choice === "system" ? (media()?.matches ? "dark" : "light") : choice;
}

export function applyTheme(): void {
  document.documentElement.dataset.theme = resolvedTheme();
}

export function setThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* storage refused: the choice lasts for this page */
  }
  applyTheme();
  window.dispatchEvent(new Event(EVENT));
}

/** Applies the theme now and keeps it in step with the system and with other tabs. */
export function initTheme(): void {
  applyTheme();
  media()?.addEventListener("change", applyTheme);
  window.addEventListener("storage", (e) => {
    if (e.key === KEY) {
      applyTheme();
      window.dispatchEvent(new Event(EVENT));
    }
  });
}

function subscribe(cb: () => void) {
  window.addEventListener(EVENT, cb);
  const m = media();
  m?.addEventListener("change", cb);
  return () => {
    window.removeEventListener(EVENT, cb);
    m?.removeEventListener("change", cb);
  };
}

export function useTheme(): { choice: ThemeChoice; theme: "light" | "dark" } {
  const choice = useSyncExternalStore(subscribe, themeChoice);
  const theme = useSyncExternalStore(subscribe, () => resolvedTheme());
  return { choice, theme };
}
