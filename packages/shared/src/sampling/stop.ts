// Stop sequences over decoded text, as OpenAI: generation ends at the first occurrence of any stop
// string and the returned text excludes it. For streaming, `safePrefix` says how much text can be
// emitted now without ever having to take back the start of a stop string that is still forming.
import { ParameterError } from "../errors";

export interface StopMatch {
  /** Offset of the match in the text; the output is text.slice(0, index). */
  index: number;
  stop: string;
}

/**
 * Earliest-match stop-string detector.
 * @example
 * const stops = new StopSequences(["\n\n", "END"]);
 * stops.find("abc END x") // { index: 4, stop: "END" }
 */
export class StopSequences {
  readonly stops: readonly string[];
  private readonly longest: number;

  constructor(stops: string | readonly string[] | null | undefined) {
    const list = stops == null ? [] : typeof stops === "string" ? [stops] : [...stops];
    list.forEach((s, i) => {
      if (typeof s !== "string" || s.length === 0) throw new ParameterError(`stop[${i}]`, "must be a non-empty string", s);
    });
    this.stops = list;
    this.longest = Math.max(0, ...list.map((s) => s.length));
  }

  /**
   * First match that ends after offset `from` (text before `from` was already searched); earliest index wins,
   * then the stop listed first.
   */
  find(text: string, from = 0): StopMatch | null {
    const start = Math.max(0, from - this.longest + 1);
    let best: StopMatch | null = null;
    for (const stop of this.stops) {
      const index = text.indexOf(stop, start);
      if (index >= 0 && (best === null || index < best.index)) best = { index, stop };
    }
    return best;
  }

  /** Length of the prefix of `text` that can be emitted: the tail that is a proper prefix of a stop is held back. */
  safePrefix(text: string): number {
    for (let held = Math.min(this.longest - 1, text.length); held > 0; held--) {
      const tail = text.slice(text.length - held);
      if (this.stops.some((s) => s.startsWith(tail))) return text.length - held;
    }
    return text.length;
  }
}
