// `flotilla dev`: a local cluster of separate member processes on loopback, with one command.
// Prints every member's client URL, the dashboard's address and an etcdctl line to try; Ctrl-C
// stops them all. Each member also serves /metrics, the health endpoints and the dashboard on its
// metrics URL (after all client and peer ports: base + 2 × members + i).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BIN = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
/** How long members get to stop on Ctrl-C before they are killed. */
const STOP_GRACE_MS = 5_000;

export interface DevMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly metricsUrl: string;
}

export function devMembers(count: number, basePort: number): DevMember[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `n${i + 1}`,
    clientUrl: `http://127.0.0.1:${basePort + i * 2}`,
    peerUrl: `http://127.0.0.1:${basePort + i * 2 + 1}`,
    metricsUrl: `http://127.0.0.1:${basePort + count * 2 + i}`,
  }));
}

export async function dev(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: 'string', default: '3' },
      'base-port': { type: 'string', default: '2379' },
      'data-dir': { type: 'string' },
    },
  });
  const count = Number(values.nodes);
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    process.stderr.write('flotilla dev: --nodes must be between 1 and 9\n');
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + count * 3 > 65535) {
    process.stderr.write(
      'flotilla dev: --base-port must leave room for three ports per member below 65536\n',
    );
    return 2;
  }
  const ownDataDir = values['data-dir'] === undefined;
  const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'flotilla-dev-'));
  const members = devMembers(count, basePort);
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const children: ChildProcess[] = members.map((m) =>
    spawn(
      process.execPath,
      [
        BIN,
        'serve',
        `--name=${m.name}`,
        `--data-dir=${join(dataDir, m.name)}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--listen-metrics-urls=${m.metricsUrl}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    ),
  );
  const endpoints = members.map((m) => m.clientUrl).join(',');
  process.stdout.write(
    `flotilla dev: ${count} members, data in ${dataDir}\n` +
      members
        .map((m) => `  ${m.name}  client ${m.clientUrl}  peer ${m.peerUrl}  metrics ${m.metricsUrl}\n`)
        .join('') +
      `\n  dashboard: ${members[0].metricsUrl}/   (every member's metrics URL serves it)\n\n` +
      `try:\n  etcdctl --endpoints=${endpoints} put greeting hello\n  etcdctl --endpoints=${endpoints} get greeting\n` +
      'Ctrl-C stops the cluster.\n',
  );
  const exited = children.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    // If every member dies on its own, stop waiting too.
    Promise.all(exited).then(() => resolve());
  });
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const grace = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  await Promise.all(exited);
  clearTimeout(grace);
  if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write('flotilla dev: stopped\n');
  return 0;
}
