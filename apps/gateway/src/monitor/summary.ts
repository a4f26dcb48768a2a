// What one time slot (or a merged window) knows about one (checkpoint, arm): counts, sums and maxima, and
// LogHistogram quantile summaries of per-request kl_mean, kl_max, latency and per-layer sketch percentile.
// Every field merges exactly (sums of counts, max of maxima), so window = merge of its slots.
import { LogHistogram } from "./log-histogram";
import type { Observation } from "./observation";

export class Summary {
  requests = 0; // requests served by the checkpoint on this arm
  guarded = 0; // of which the drift guard was on
  candidates = 0; // candidates the guard scored
  rejectedCandidates = 0; // of which it refused
  fallback = { reference: 0, least_kl: 0, reject: 0 }; // guarded requests ending in each fallback
  readonly klMean = new LogHistogram(); // nats/token, per request
  readonly klMax = new LogHistogram(); // nats, per request
  readonly latency = new LogHistogram(); // ms, per request
  readonly sketch = new Map<number, LogHistogram>(); // layer → percentile scores 0–100, per returned choice

  add(o: Observation): void {
    this.requests++;
    if (o.guarded) this.guarded++;
    this.candidates += o.candidates;
    this.rejectedCandidates += o.rejectedCandidates;
    if (o.fallback) this.fallback[o.fallback]++;
    if (o.klMean !== null) this.klMean.add(o.klMean);
    if (o.klMax !== null) this.klMax.add(o.klMax);
    this.latency.add(o.latencyMs);
    for (const s of o.sketch) this.layer(s.layer).add(s.percentile);
  }

  merge(other: Summary): void {
    this.requests += other.requests;
    this.guarded += other.guarded;
    this.candidates += other.candidates;
    this.rejectedCandidates += other.rejectedCandidates;
    this.fallback.reference += other.fallback.reference;
    this.fallback.least_kl += other.fallback.least_kl;
    this.fallback.reject += other.fallback.reject;
    this.klMean.merge(other.klMean);
    this.klMax.merge(other.klMax);
    this.latency.merge(other.latency);
    for (const [layer, h] of other.sketch) this.layer(layer).merge(h);
  }

  reset(): void {
    this.requests = this.guarded = this.candidates = this.rejectedCandidates = 0;
    this.fallback = { reference: 0, least_kl: 0, reject: 0 };
    this.klMean.reset();
    this.klMax.reset();
    this.latency.reset();
    this.sketch.clear();
  }

  private layer(layer: number): LogHistogram {
    let h = this.sketch.get(layer);
    if (!h) this.sketch.set(layer, (h = new LogHistogram()));
    return h;
  }
}
