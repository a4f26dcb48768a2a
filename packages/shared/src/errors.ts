// Errors with the offending parameter named, so the gateway can map them to OpenAI's 400 shape.

/**
 * An invalid parameter: the message names the parameter and its allowed range.
 * @example
 * throw new ParameterError("temperature", "must be ≥ 0", -1); // "temperature must be ≥ 0 (got -1)"
 */
export class ParameterError extends RangeError {
  override readonly name = "ParameterError";

  constructor(
    readonly param: string,
    requirement: string,
    readonly value?: unknown,
  ) {
    super(`${param} ${requirement}${value === undefined ? "" : ` (got ${formatValue(value)})`}`);
  }
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}
