// Progress for long commands: a live bar on a terminal (step, loss, KL, β, tokens/s, ETA), a line every
// few percent otherwise (CI logs), and every step appended to metrics.jsonl.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import cliProgress from "cli-progress";

/** One metrics.jsonl record: the step plus named scalars. */
export type MetricRecord = { step: number } & Record<string, number | string>;

export interface ProgressOptions {
  /** Label in front of the bar, e.g. "pretrain". */
  label: string;
  totalSteps: number;
  /** metrics.jsonl path; truncated at start unless resuming. */
  metricsPath: string;
  resume?: boolean;
  /** Write to this stream (default stderr, so stdout stays for results). */
  stream?: NodeJS.WriteStream;
  /** Force the plain line mode (tests). */
  plain?: boolean;
  /** Where plain-mode lines go (default: the stream); commands pass their log so a quiet caller stays quiet. */
  print?: (line: string) => void;
}

/**
 * @example
 * const progress = new Progress({ label: "sft", totalSteps: 100, metricsPath: "out/metrics.jsonl" });
 * progress.update({ step: 1, loss: 2.1, kl: 0.01, beta: 0.1 }, 512);
 * progress.stop();
 */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly started = Date.now();
  private tokens = 0;
  private lastPrinted = -1;

  constructor(private readonly opts: ProgressOptions) {
    mkdirSync(dirname(opts.metricsPath), { recursive: true });
    if (!opts.resume) writeFileSync(opts.metricsPath, "");
    const stream = opts.stream ?? process.stderr;
    this.bar =
      opts.plain || !stream.isTTY
        ? null
        : new cliProgress.SingleBar(
            {
              stream,
              format: `${opts.label} {bar} {value}/{total} | loss {loss} | KL {kl} | β {beta} | {tps} tok/s | ETA {eta_formatted}`,
              hideCursor: true,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          );
    this.bar?.start(opts.totalSteps, 0, { loss: "-", kl: "-", beta: "-", tps: "-" });
  }

  /** Record a step's metrics and the tokens it processed. */
  update(record: MetricRecord, stepTokens: number): void {
    this.tokens += stepTokens;
    const elapsed = (Date.now() - this.started) / 1000;
    const tps = elapsed > 0 ? this.tokens / elapsed : 0;
    const line = { ...record, tokens_per_s: round(tps), elapsed_s: round(elapsed) };
    appendFileSync(this.opts.metricsPath, `${JSON.stringify(line)}\n`);
    const fields = { loss: fmt(record.loss), kl: fmt(record.kl), beta: fmt(record.beta), tps: Math.round(tps) };
    if (this.bar) {
      this.bar.update(record.step, fields);
      return;
    }
    // Plain mode: about 20 lines per run, plus the last step.
    const every = Math.max(1, Math.floor(this.opts.totalSteps / 20));
    if (record.step - this.lastPrinted >= every || record.step === this.opts.totalSteps) {
      this.lastPrinted = record.step;
      const eta = record.step > 0 ? (elapsed / record.step) * (this.opts.totalSteps - record.step) : 0;
      const line = `${this.opts.label} ${record.step}/${this.opts.totalSteps} | loss ${fields.loss} | KL ${fields.kl} | β ${fields.beta} | ${fields.tps} tok/s | ETA ${Math.round(eta)}s`;
      if (this.opts.print) this.opts.print(line);
      else (this.opts.stream ?? process.stderr).write(`${line}\n`);
    }
  }

  /** Append a non-step record (evaluation results) to metrics.jsonl. */
  log(record: MetricRecord): void {
    appendFileSync(this.opts.metricsPath, `${JSON.stringify(record)}\n`);
  }

  stop(): void {
    this.bar?.stop();
  }
}

function fmt(v: number | string | undefined): string {
  if (v === undefined) return "-";
  if (typeof v === "string") return v;
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(1) : v.toPrecision(3);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
