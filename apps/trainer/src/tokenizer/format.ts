// The Hugging Face tokenizer file formats (tokenizer.json, tokenizer_config.json), validated loosely:
// only the fields Tether reads are checked, every other field is kept as-is.
import { z } from "zod";
import { ParameterError } from "@tether/shared/errors";

/** One entry of tokenizer.json `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** tokenizer.json (Hugging Face `tokenizers` serialization). Fields Tether does not read stay `unknown`. */
export interface TokenizerJson {
  version?: string;
  truncation?: unknown;
  padding?: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type?: string;
    vocab: Record<string, number> | unknown;
    merges?: unknown[];
    unk_token?: string | null;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken-like object. */
export type TokenRef = string | { content: string; [key: string]: unknown } | null;

/** tokenizer_config.json (transformers). */
export interface TokenizerConfigJson {
  tokenizer_class?: string;
  eos_token?: TokenRef;
  pad_token?: TokenRef;
  bos_token?: TokenRef;
  unk_token?: TokenRef;
  additional_special_tokens?: TokenRef[];
  chat_template?: string | { name: string; template: string }[] | null;
  model_max_length?: number;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** generation_config.json (transformers): the ids generation stops at, starts with and pads with. */
export interface GenerationConfigJson {
  bos_token_id: number | null;
  eos_token_id: number | number[];
  pad_token_id: number;
  [key: string]: unknown;
}

const addedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().default(false),
  lstrip: z.boolean().default(false),
  rstrip: z.boolean().default(false),
  normalized: z.boolean().default(false),
  special: z.boolean().default(false),
});

const tokenizerJsonSchema = z.looseObject({
  added_tokens: z.array(addedTokenSchema).default([]),
  normalizer: z.unknown().default(null),
  pre_tokenizer: z.unknown().default(null),
  post_processor: z.unknown().default(null),
  decoder: z.unknown().default(null),
  model: z.looseObject({ type: z.string().optional(), vocab: z.unknown() }),
});

const tokenRef = z.union([z.string(), z.looseObject({ content: z.string() }), z.null()]);

const configSchema = z.looseObject({
  eos_token: tokenRef.optional(),
  pad_token: tokenRef.optional(),
  bos_token: tokenRef.optional(),
  unk_token: tokenRef.optional(),
  additional_special_tokens: z.array(tokenRef).optional(),
  clean_up_tokenization_spaces: z.boolean().optional(),
});

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  return `${where}: ${issue.message}`;
}

/**
 * Checks that a parsed tokenizer.json has the shape Tether relies on.
 * @example
 * const json = parseTokenizerJson(JSON.parse(readFileSync("tokenizer.json", "utf8")));
 */
export function parseTokenizerJson(value: unknown): TokenizerJson {
  const parsed = tokenizerJsonSchema.safeParse(value);
  if (!parsed.success) throw new ParameterError("tokenizer.json", `is not a Hugging Face tokenizer file (${firstIssue(parsed.error)})`);
  return parsed.data as unknown as TokenizerJson;
}

/**
 * Checks the special-token fields of a parsed tokenizer_config.json.
 * @example
 * const config = parseTokenizerConfig({ eos_token: "<|endoftext|>" });
 */
export function parseTokenizerConfig(value: unknown): TokenizerConfigJson {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) throw new ParameterError("tokenizer_config.json", `is malformed (${firstIssue(parsed.error)})`);
  return parsed.data as TokenizerConfigJson;
}

/**
 * The text of a special-token reference.
 * @example
 * tokenContent({ content: "<|im_end|>" }); // "<|im_end|>"
 */
export function tokenContent(ref: TokenRef | undefined): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  return typeof ref === "string" ? ref : ref.content;
}

/**
 * Throws unless every id is an integer in [0, vocabSize).
 * @example
 * checkIds([0, 5], 100); // ok
 */
export function checkIds(ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new ParameterError(`ids[${i}]`, `must be an integer in [0, ${vocabSize})`, id);
    }
  }
}
