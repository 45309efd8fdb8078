// Endpoints a differential test can start: anything that serves the etcd v3 gRPC API on an address.
// A is always real etcd (the reference); B is chosen by FLOTILLA_DIFF_TARGET=flotilla|etcd.

import { startEtcd } from './etcd.js';
import { FlotillaCluster } from './flotilla.js';

export interface StartedEndpoint {
  /** host:port serving the etcd v3 gRPC API (plaintext). */
  readonly address: string;
  stop(): Promise<void>;
}

export interface Endpoint {
  readonly name: string;
  /** Starts a fresh server with empty state (store revision 1, no leases). */
  start(): Promise<StartedEndpoint>;
}

export const etcdEndpoint: Endpoint = {
  name: 'etcd',
  start: () => startEtcd(),
};

/** A fresh single-member Flotilla cluster (a real `flotilla serve` process). */
export const flotillaEndpoint: Endpoint = {
  name: 'flotilla',
  start: async () => {
    const cluster = await FlotillaCluster.start(1);
    return { address: cluster.address(0), stop: () => cluster.stop() };
  },
};

export type DiffTarget = 'etcd' | 'flotilla';

/** B for the differential test, from FLOTILLA_DIFF_TARGET (default flotilla; etcd compares etcd with itself). */
export function diffTargetFromEnv(value = process.env.FLOTILLA_DIFF_TARGET): Endpoint {
  const target = value === undefined || value === '' ? 'flotilla' : value;
  switch (target) {
    case 'etcd':
      return etcdEndpoint;
    case 'flotilla':
      return flotillaEndpoint;
    default:
      throw new Error(`FLOTILLA_DIFF_TARGET must be etcd or flotilla, got ${JSON.stringify(value)}`);
  }
}
