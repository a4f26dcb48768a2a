// Plain-text tables for the CLIs: a header, a rule, right-aligned numbers, no colours (pipes and logs stay clean).

export type Cell = string | number | null;

/**
 * @example renderTable(["arm", "requests"], [["active", 12]]) // "arm     requests\n──────  ────────\nactive        12"
 */
export function renderTable(header: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((c) => (c === null ? "—" : String(c))));
  // Right-align a column whose cells all read as numbers (12, 0.031, 4.2%, 18 ms).
  const numeric = header.map((_, i) => rows.some((row) => row[i] !== null) && rows.every((row) => row[i] === null || /^-?[\d.]+(e-?\d+)?(%| ms)?$/.test(String(row[i]))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...text.map(line)].join("\n");
}

/** A number with `digits` decimals, or null (shown as —). */
export const fixed = (v: number | null, digits: number): string | null => (v === null ? null : v.toFixed(digits));
/** A ratio in 0..1 as a percentage. */
export const percent = (v: number | null): string | null => (v === null ? null : `${(100 * v).toFixed(1)}%`);
/** An ISO time as "YYYY-MM-DD HH:MM:SS" (UTC). */
export const clock = (v: string | null): string | null => (v === null ? null : v.slice(0, 19).replace("T", " "));
