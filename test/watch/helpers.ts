// Fixtures for the watch tests: a real MvccStore in a temp dir, a hub fed after every write,
// and a stream whose responses are collected.

import type { ApplyRequest, MvccStore } from '../../src/mvcc/index.js';
import {
  WatchHub,
  type WatchHubOptions,
  type WatchResponseMessage,
  type WatchStream,
} from '../../src/watch/index.js';
import { openTemp, type TempStore } from '../mvcc/helpers.js';

export { ALL, b, s } from '../mvcc/helpers.js';

export const HEADER = { cluster_id: '11', member_id: '22', raft_term: '3' };

export interface WatchFixture {
  readonly store: MvccStore;
  readonly hub: WatchHub;
  /** Applies a request at the next index and notifies the hub, as the server's apply loop does. */
  apply(request: ApplyRequest): void;
  put(key: string, value: string): void;
  del(key: string, rangeEnd?: string): void;
  open(): { stream: WatchStream; responses: WatchResponseMessage[] };
  dispose(): Promise<void>;
}

const enc = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

export function watchFixture(options: Partial<Omit<WatchHubOptions, 'store' | 'header'>> = {}): WatchFixture {
  const temp: TempStore = openTemp();
  const store = temp.store;
  let hub: WatchHub;
  try {
    hub = new WatchHub({ store, header: () => HEADER, progressNotifyIntervalMs: 0, ...options });
  } catch (error) {
    void temp.dispose();
    throw error;
  }
  const apply = (request: ApplyRequest) => {
    const result = store.applyEntry(store.appliedIndex() + 1, request);
    if (result.status === 'failed') throw result.error;
    if (result.status === 'applied') hub.notify(result.events, store.currentRevision());
  };
  return {
    store,
    hub,
    apply,
    put: (key, value) => apply({ type: 'put', put: { key: enc(key), value: enc(value) } }),
    del: (key, rangeEnd) =>
      apply({
        type: 'deleteRange',
        deleteRange: rangeEnd === undefined ? { key: enc(key) } : { key: enc(key), rangeEnd: enc(rangeEnd) },
      }),
    open() {
      const stream = hub.openStream();
      const responses: WatchResponseMessage[] = [];
      stream.onResponse((r) => {
        responses.push(r);
      });
      return { stream, responses };
    },
    async dispose() {
      hub.close();
      await temp.dispose();
    },
  };
}

export async function withWatch(
  body: (f: WatchFixture) => void | Promise<void>,
  options: Partial<Omit<WatchHubOptions, 'store' | 'header'>> = {},
): Promise<void> {
  const fixture = watchFixture(options);
  try {
    await body(fixture);
  } finally {
    await fixture.dispose();
  }
}

export interface CreateOptions {
  key: string;
  range_end?: string;
  start_revision?: number;
  progress_notify?: boolean;
  filters?: number[];
  prev_kv?: boolean;
  watch_id?: number;
  fragment?: boolean;
}

/** A WatchRequest as @grpc/proto-loader hands it over (defaults filled, int64 as strings). */
export function createRequest(o: CreateOptions): unknown {
  return {
    request_union: 'create_request',
    create_request: {
      key: Buffer.from(o.key, 'latin1'),
      range_end: Buffer.from(o.range_end ?? '', 'latin1'),
      start_revision: String(o.start_revision ?? 0),
      progress_notify: o.progress_notify ?? false,
      filters: o.filters ?? [],
      prev_kv: o.prev_kv ?? false,
      watch_id: String(o.watch_id ?? 0),
      fragment: o.fragment ?? false,
    },
  };
}

export const cancelRequest = (watchId: number): unknown => ({
  request_union: 'cancel_request',
  cancel_request: { watch_id: String(watchId) },
});

export const progressRequest = (): unknown => ({ request_union: 'progress_request', progress_request: {} });

/** Compact description of event responses: "id@headerRev: PUT k=v@mod, DELETE k@mod". */
export function describe(r: WatchResponseMessage): string {
  const events = r.events.map((e) => {
    const key = e.kv.key.toString('latin1');
    const prev = e.prev_kv === null ? '' : ` (prev ${e.prev_kv.value.toString('latin1')})`;
    return e.type === 0
      ? `PUT ${key}=${e.kv.value.toString('latin1')}@${e.kv.mod_revision}${prev}`
      : `DELETE ${key}@${e.kv.mod_revision}${prev}`;
  });
  return `${r.watch_id}@${r.header.revision}: ${events.join(', ')}`;
}

export const eventResponses = (responses: WatchResponseMessage[]) =>
  responses.filter((r) => r.events.length > 0);
