// One fault-lab run: start a cluster behind proxies, run workloads while the nemesis strikes,
// heal everything, require convergence, check the histories, write the report. The verdict is
// the last line printed: `chaos: valid (...)` or `chaos: INVALID (...)`.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRng } from '../raft/rng.js';
import { LabClient, type ProtoObject } from './client.js';
import { LabCluster } from './cluster.js';
import { Nemesis, type NemesisName } from './nemesis.js';
import { type RunSummary, writeReport } from './report.js';
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
    const connect = async () => new LabClient(cluster.address(await cluster.waitForLeader(10_000)), 10_000);
    const checks = await workloads.check(connect);
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
    cluster.setHooks(member, {});
    cluster.resume(member);
    cluster.reap(member);
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
      for (const member of cluster.active()) {
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
