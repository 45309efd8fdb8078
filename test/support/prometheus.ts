// Scraping a member's /metrics in tests: fetch the text exposition and read samples by name and
// labels. Enough of the format for Flotilla's own metrics (no escapes in label values).

export type Samples = Map<string, number>;

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/;

/** Parses the exposition into "name{a="1",b="2"}" (labels sorted) → value. */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`unparsable metrics line: ${line}`);
    const [, name, labels, value] = match;
    samples.set(sampleKey(name, parseLabels(labels ?? '')), Number(value));
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[match[1]] = match[2];
  return labels;
}

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}

export async function scrape(metricsUrl: string): Promise<Samples> {
  const response = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${metricsUrl}/metrics: HTTP ${response.status}`);
  return parseMetrics(await response.text());
}

/** The value of one sample; throws when absent, so a renamed metric fails the test loudly. */
export function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const value = samples.get(sampleKey(name, labels));
  if (value === undefined) throw new Error(`no sample ${sampleKey(name, labels)}`);
  return value;
}

/** Like `sample`, but 0 when absent (counters with labels appear on first use). */
export function sampleOrZero(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  return samples.get(sampleKey(name, labels)) ?? 0;
}
