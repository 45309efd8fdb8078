// One fault-lab run: start a cluster behind proxies, run workloads while the nemesis strikes,
// heal everything, require convergence, check the histories, write the report. The verdict is
// the last line printed: `chaos: valid (...)` or `chaos: INVALID (...)`.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkLinearizability } from '../check/linearizability.js';
import { kvModel } from '../check/models.js';
import { SeededRng } from '../raft/rng.js';
import { LabClient, type ProtoObject } from './client.js';
import { LabCluster } from './cluster.js';
import { Nemesis, type NemesisName } from './nemesis.js';
import { type CheckerVerdict, type RunSummary, writeReport } from './report.js';
import { type WorkloadName, WorkloadRunner } from './workloads.js';

export interface LabOptions {
  readonly timeMs: number;
  readonly nodes: number;
  readonly nemeses: readonly NemesisName[];
  readonly workloads: readonly WorkloadName[];
  readonly seed: number;
  readonly unsafe: string | null;
  readonly outDir: string;
  readonly clientsPerMember: number;
  readonly progress: (line: string) => void;
}

export interface LabResult {
  readonly verdict: 'valid' | 'INVALID' | 'unknown';
  readonly verdictLine: string;
  readonly reportFile: string;
  readonly historyFile: string;
}

/** Bound on healing: a leader, every member answering, equal hashes. */
const CONVERGE_TIMEOUT_MS = 45_000;
const POLL_MS = 100;
const FINAL_READ_ATTEMPTS = 10;

export async function runLab(options: LabOptions): Promise<LabResult> {
  const startedAt = new Date();
  const startMs = Date.now();
  const rng = new SeededRng(options.seed);
  mkdirSync(options.outDir, { recursive: true });
  options.progress(`chaos: starting ${options.nodes} members (data in ${join(options.outDir, 'data')})`);
  const cluster = await LabCluster.start(options.nodes, join(options.outDir, 'data'), options.unsafe);
  const workloads = new WorkloadRunner(cluster, options.workloads, rng, startMs);
  const nemesis = new Nemesis(cluster, options.nemeses, rng, startMs);
  let convergence = 'not reached';
  let converged = false;
  try {
    workloads.start(options.clientsPerMember);
    nemesis.start();
    const ticker = setInterval(() => {
      const done = workloads.recorded.length;
      options.progress(
        `chaos: ${Math.round((Date.now() - startMs) / 1000)}s, ${done} operations, ${nemesis.windows.length} faults`,
      );
    }, 5_000);
    await new Promise((resolve) => setTimeout(resolve, options.timeMs));
    clearInterval(ticker);
    await nemesis.stop();
    await workloads.stop();
    options.progress('chaos: healing and waiting for convergence');
    const outcome = await converge(cluster);
    convergence = outcome.detail;
    converged = outcome.converged;
    const checks = [...(await checkWorkloads(cluster, workloads, options.workloads))];
    if (!converged) checks.push({ workload: 'convergence', valid: false, summary: convergence });
    const invalid = checks.filter((c) => c.valid === false);
    const unknown = checks.filter((c) => c.valid === 'unknown');
    const verdict = invalid.length > 0 ? 'INVALID' : unknown.length > 0 ? 'unknown' : 'valid';
    const indefinite = workloads.recorded.filter((o) => o.outcome === 'info').length;
    const detail = [
      `${workloads.recorded.length} ops, ${indefinite} indefinite`,
      `${nemesis.windows.length} faults`,
      ...checks.map((c) => `${c.workload}: ${c.summary}`),
      options.unsafe === null ? '' : `unsafe ${options.unsafe}`,
    ].filter((part) => part !== '');
    const verdictLine = `chaos: ${verdict} (${detail.join('; ')})`;
    const summary: RunSummary = {
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startMs,
      seed: options.seed,
      nemeses: options.nemeses,
      workloads: options.workloads,
      unsafe: options.unsafe,
      verdict,
      verdictLine,
      checks,
      convergence,
    };
    const files = writeReport(options.outDir, summary, workloads.recorded, nemesis.windows);
    return { verdict, verdictLine, ...files };
  } finally {
    await cluster.stop(!converged);
  }
}

/** Heal the network, resume and restart everyone, then require one leader and equal HashKV. */
async function converge(cluster: LabCluster): Promise<{ converged: boolean; detail: string }> {
  cluster.healNetwork();
  for (const member of cluster.members) {
    cluster.resume(member);
    cluster.restart(member);
  }
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  let last = 'no leader';
  while (Date.now() < deadline) {
    try {
      const leader = await cluster.waitForLeader(Math.max(1, deadline - Date.now()));
      // A write through the leader marks a revision every member must reach.
      const marker = new LabClient(cluster.address(leader), 5_000);
      const put = await marker.put({
        key: Buffer.from('chaos/converged'),
        value: Buffer.from(String(Date.now())),
      });
      marker.close();
      if (put.kind !== 'ok') {
        last = `marker write: ${put.error}`;
        continue;
      }
      const revision = Number((put.response.header as ProtoObject).revision);
      const hashes = new Set<string>();
      for (const member of cluster.members) {
        const client = new LabClient(cluster.address(member), 2_000);
        try {
          let hash: string | undefined;
          while (hash === undefined && Date.now() < deadline) {
            const status = await client.status();
            if (
              status.kind === 'ok' &&
              Number((status.response.header as ProtoObject).revision) >= revision
            ) {
              const result = await client.hashKV(revision);
              if (result.kind === 'ok') hash = String(result.response.hash);
            }
            if (hash === undefined) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          }
          if (hash === undefined) throw new Error(`${member.name} did not reach revision ${revision}`);
          hashes.add(hash);
        } finally {
          client.close();
        }
      }
      if (hashes.size === 1) {
        return {
          converged: true,
          detail: `one leader (${leader.name}), HashKV equal on every member at revision ${revision}`,
        };
      }
      return {
        converged: false,
        detail: `HashKV differs between members at revision ${revision}: ${[...hashes].join(', ')}`,
      };
    } catch (error) {
      last = (error as Error).message;
    }
  }
  return { converged: false, detail: `did not converge within ${CONVERGE_TIMEOUT_MS} ms: ${last}` };
}

async function checkWorkloads(
  cluster: LabCluster,
  workloads: WorkloadRunner,
  names: readonly WorkloadName[],
): Promise<CheckerVerdict[]> {
  const verdicts: CheckerVerdict[] = [];
  if (names.includes('register')) {
    const result = checkLinearizability(kvModel, workloads.registerHistory);
    const ops = workloads.registerHistory.length;
    if (result.valid === true)
      verdicts.push({ workload: 'register', valid: true, summary: `${ops} ops linearizable` });
    else if (result.valid === 'unknown') {
      verdicts.push({
        workload: 'register',
        valid: 'unknown',
        summary: `check incomplete on key ${result.key}: ${result.reason}`,
      });
    } else {
      verdicts.push({
        workload: 'register',
        valid: false,
        summary: `not linearizable on key ${result.key}`,
        explanation: result.message,
        failingOperations: result.operations.map((o) => o.id),
      });
    }
  }
  if (names.includes('set')) verdicts.push(await checkSet(cluster, workloads));
  return verdicts;
}

/** Every acknowledged add is in the final read; no definitely failed add is. */
async function checkSet(cluster: LabCluster, workloads: WorkloadRunner): Promise<CheckerVerdict> {
  let read: Awaited<ReturnType<LabClient['range']>> = { kind: 'info', error: 'not attempted' };
  // A linearizable read through a member that is up; retried (bounded) across leader changes.
  for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && read.kind !== 'ok'; attempt++) {
    const leader = await cluster.waitForLeader(10_000);
    const client = new LabClient(cluster.address(leader), 10_000);
    read = await client.range({ key: Buffer.from('s/'), range_end: Buffer.from('s0'), keys_only: true });
    client.close();
    if (read.kind !== 'ok') await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (read.kind !== 'ok')
    return { workload: 'set', valid: 'unknown', summary: `final read failed: ${read.error}` };
  const present = new Set(
    ((read.response.kvs as ProtoObject[] | undefined) ?? []).map((kv) =>
      Buffer.from(kv.key as Uint8Array).toString(),
    ),
  );
  const lost = [...workloads.setAdds]
    .filter(([key, outcome]) => outcome === 'ok' && !present.has(key))
    .map(([key]) => key);
  const phantom = [...workloads.setAdds]
    .filter(([key, outcome]) => outcome === 'fail' && present.has(key))
    .map(([key]) => key);
  const acknowledged = [...workloads.setAdds.values()].filter((o) => o === 'ok').length;
  if (lost.length === 0 && phantom.length === 0) {
    return { workload: 'set', valid: true, summary: `${acknowledged} acknowledged adds all present` };
  }
  return {
    workload: 'set',
    valid: false,
    summary: `${lost.length} acknowledged adds lost, ${phantom.length} refused adds present`,
    explanation: `lost: ${lost.slice(0, 20).join(', ')}${lost.length > 20 ? ' ...' : ''}; present although refused: ${phantom.slice(0, 20).join(', ')}`,
    failingOperations: workloads.recorded
      .filter((o) => lost.includes(o.key ?? '') || phantom.includes(o.key ?? ''))
      .map((o) => o.id),
  };
}
