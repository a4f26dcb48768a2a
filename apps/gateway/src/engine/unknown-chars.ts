// How many characters of a text the tokenizer cannot represent (it gives them <|unk|>): the gateway answers
// anyway, but says so (x-tether-unknown-chars header, a log line) instead of silently replacing them.
import type { Tokenizer } from "./engine";

/**
 * Characters (code points) of `text` whose own encoding holds the unknown token. `ids` is the text's
 * encoding when the caller has it: without an unknown id in it there is nothing to count.
 * @example unknownChars(demoTokenizer, "12+7=é") // 1
 */
export function unknownChars(tokenizer: Tokenizer, text: string, ids?: readonly number[]): number {
  const unk = tokenizer.unknownTokenId;
  if (unk === null || unk === undefined) return 0;
  if (ids !== undefined && !ids.includes(unk)) return 0;
  let count = 0;
  const verdict = new Map<string, boolean>(); // per distinct character: texts repeat characters
  for (const ch of text) {
    let unknown = verdict.get(ch);
    if (unknown === undefined) verdict.set(ch, (unknown = tokenizer.encode(ch, { specialTokens: false }).includes(unk)));
    if (unknown) count++;
  }
  return count;
}
