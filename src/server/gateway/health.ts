// GET /health, as etcd 3.4 answers it: healthy when the member knows a leader, no alarm is raised,
// and a linearizable read completes within a bound (etcd issues a QGET Range the same way).

import { NONE } from '../../raft/types.js';
import type { FlotillaNode } from '../node.js';

/** How long the health check's linearizable read may take before the member counts as unhealthy. */
const HEALTH_READ_TIMEOUT_MS = 1_000;

export async function memberHealthy(node: FlotillaNode): Promise<boolean> {
  if (node.status().lead === NONE || node.alarmList().length > 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_READ_TIMEOUT_MS);
  });
  const read = node.linearizableRead().then(
    () => true,
    () => false, // no leader, timed out or stopping: each means "not healthy", nothing more
  );
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
