// Runs the real etcdctl (Debian etcd-client, v3 API) and reports how it ended without throwing,
// so tests can check refusals as well as answers.

import { spawn } from 'node:child_process';

export const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';

export interface EtcdctlOutcome {
  readonly ok: boolean;
  /** stdout, trimmed; on failure followed by etcdctl's last stderr line ("Error: <message>"). */
  readonly out: string;
}

/** etcdctl `args`, with `input` on its stdin (e.g. an interactive txn). */
export function runEtcdctl(args: readonly string[], input = ''): Promise<EtcdctlOutcome> {
  const child = spawn(ETCDCTL, args, { env: { ...process.env, ETCDCTL_API: '3' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ ok: true, out: stdout.trim() });
      else resolve({ ok: false, out: `${stdout.trim()}${stderr.trim().split('\n').at(-1) ?? ''}` });
    });
  });
}
