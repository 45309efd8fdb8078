// The set workload: unique adds (Put), then one final linearizable read after convergence.
// Every acknowledged add must be present, and no add the server definitely refused.

import type { CheckerVerdict } from './report.js';
import type { CheckContext, Outcome, StepContext, Workload } from './workload.js';

const FINAL_READ_ATTEMPTS = 10;

export class SetWorkload implements Workload {
  readonly name = 'set';
  readonly description = 'unique adds, then a final read: nothing acknowledged may be lost';
  private readonly adds = new Map<string, Outcome>();

  async step(context: StepContext): Promise<Outcome> {
    const key = `s/${context.client}-${context.n}`;
    const callMs = context.now();
    const result = await context.connection.put({ key: Buffer.from(key), value: Buffer.from('1') });
    context.record({
      key,
      input: { add: key },
      output: 'ok',
      callMs,
      outcome: result.kind,
      error: result.kind === 'ok' ? undefined : result.error,
    });
    this.adds.set(key, result.kind);
    return result.kind;
  }

  async check(context: CheckContext): Promise<CheckerVerdict> {
    let keys: Set<string> | null = null;
    let lastError = '';
    for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && keys === null; attempt++) {
      const client = await context.connect();
      const read = await client.range({
        key: Buffer.from('s/'),
        range_end: Buffer.from('s0'),
        keys_only: true,
      });
      client.close();
      if (read.kind === 'ok') {
        const kvs = (read.response.kvs as { key: Uint8Array }[] | undefined) ?? [];
        keys = new Set(kvs.map((kv) => Buffer.from(kv.key).toString()));
      } else {
        lastError = read.error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    if (keys === null)
      return { workload: this.name, valid: 'unknown', summary: `final read failed: ${lastError}` };
    const present = keys;
    const lost = [...this.adds]
      .filter(([key, outcome]) => outcome === 'ok' && !present.has(key))
      .map(([key]) => key);
    const phantom = [...this.adds]
      .filter(([key, outcome]) => outcome === 'fail' && present.has(key))
      .map(([key]) => key);
    const acknowledged = [...this.adds.values()].filter((o) => o === 'ok').length;
    if (lost.length === 0 && phantom.length === 0) {
      return { workload: this.name, valid: true, summary: `${acknowledged} acknowledged adds all present` };
    }
    const bad = new Set([...lost, ...phantom]);
    return {
      workload: this.name,
      valid: false,
      summary: `${lost.length} acknowledged adds lost, ${phantom.length} refused adds present`,
      explanation: `lost: ${lost.slice(0, 20).join(', ')}${lost.length > 20 ? ' ...' : ''}; present although refused: ${phantom.slice(0, 20).join(', ')}`,
      failingOperations: context.operations.filter((o) => bad.has(o.key ?? '')).map((o) => o.id),
    };
  }
}
