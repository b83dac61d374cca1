import { setThemeChoice, useTheme } from "../lib/theme";

/** One button: switches between light and dark; the first click leaves "follow the system". */
export function ThemeToggle({ className }: { className?: string }) {
  const { choice, theme } = useTheme();
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      className={`btn btn-ghost theme-toggle${className ? ` ${className}` : ""}`}
      aria-pressed={theme === "dark"}
      title={
        choice === "system"
          ? "Following your system's setting"
          : `Chosen here (${choice}); your system says ${window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light"}`
      }
      onClick={() => setThemeChoice(next)}
    >
      Dark mode
    </button>
  );
}
