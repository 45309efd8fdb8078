// etcdctl (Debian's etcd-client, a client nobody here wrote) against a real three-member
// Flotilla cluster. In CI a missing etcdctl fails the test instead of skipping it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';

const run = promisify(execFile);
const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';
const skip = existsSync(ETCDCTL) ? false : process.env.CI ? false : `${ETCDCTL} not installed`;

describe('etcdctl against a three-member cluster', { skip }, () => {
  let cluster: FlotillaCluster;
  let endpoints: string;

  const etcdctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(ETCDCTL, [`--endpoints=${endpoints}`, '--command-timeout=10s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await etcdctl(...args, '-w', 'json'));
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  before(async () => {
    assert.ok(existsSync(ETCDCTL), `${ETCDCTL} is required (Debian package etcd-client)`);
    cluster = await FlotillaCluster.start(3);
    endpoints = cluster.endpoints.join(',');
  });
  after(async () => cluster?.stop());

  test('put then get returns the value with etcd revision fields', async () => {
    assert.equal((await etcdctl('put', 'greeting', 'hello')).trim(), 'OK');
    const got = await json('get', 'greeting');
    assert.equal(got.count, 1);
    assert.equal(got.kvs[0].key, b64('greeting'));
    assert.equal(got.kvs[0].value, b64('hello'));
    assert.equal(got.kvs[0].version, 1);
    assert.equal(got.kvs[0].create_revision, got.kvs[0].mod_revision);
  });

  test('get --prefix --limit --sort-by orders and limits like etcd', async () => {
    for (const key of ['fruit/cherry', 'fruit/apple', 'fruit/banana'])
      await etcdctl('put', key, key.toUpperCase());
    const all = await json('get', 'fruit/', '--prefix');
    assert.deepEqual(
      all.kvs.map((kv: { key: string }) => Buffer.from(kv.key, 'base64').toString()),
      ['fruit/apple', 'fruit/banana', 'fruit/cherry'],
    );
    const limited = await json('get', 'fruit/', '--prefix', '--limit=2', '--sort-by=KEY', '--order=DESCEND');
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3);
    assert.deepEqual(
      limited.kvs.map((kv: { key: string }) => Buffer.from(kv.key, 'base64').toString()),
      ['fruit/cherry', 'fruit/banana'],
    );
  });

  test('get --rev reads a past revision', async () => {
    const first = await json('put', 'history', 'one');
    await etcdctl('put', 'history', 'two');
    const past = await json('get', 'history', `--rev=${first.header.revision}`);
    assert.equal(Buffer.from(past.kvs[0].value, 'base64').toString(), 'one');
  });

  test('del --prefix reports the number deleted', async () => {
    await etcdctl('put', 'tmp/a', '1');
    await etcdctl('put', 'tmp/b', '2');
    assert.equal((await etcdctl('del', 'tmp/', '--prefix')).trim(), '2');
    assert.equal((await json('get', 'tmp/', '--prefix')).count ?? 0, 0);
  });

  test('txn takes the success branch when the compare holds', async () => {
    await etcdctl('put', 'txn-key', 'v1');
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      const child = execFile(
        ETCDCTL,
        [`--endpoints=${endpoints}`, 'txn'],
        { env: { ...process.env, ETCDCTL_API: '3' } },
        (error, out) => (error ? reject(error) : resolve({ stdout: out })),
      );
      child.stdin?.end('value("txn-key") = "v1"\n\nput txn-key v2\n\nput txn-key failed\n\n');
    });
    assert.match(stdout, /^SUCCESS/);
    const got = await json('get', 'txn-key');
    assert.equal(Buffer.from(got.kvs[0].value, 'base64').toString(), 'v2');
  });

  test("compaction makes older revisions unreadable with etcd's error", async () => {
    const put = await json('put', 'compact-me', 'x');
    await etcdctl('put', 'compact-me', 'y');
    await etcdctl('compaction', String(put.header.revision + 1));
    await assert.rejects(
      etcdctl('get', 'compact-me', `--rev=${put.header.revision}`),
      /required revision has been compacted/,
    );
  });

  test('member list shows the three members with their URLs', async () => {
    const list = await json('member', 'list');
    assert.equal(list.members.length, 3);
    for (const member of list.members) {
      assert.equal(member.peerURLs.length, 1);
      assert.equal(member.clientURLs.length, 1);
    }
  });

  test('endpoint status reports one leader and the same raft index everywhere', async () => {
    const statuses = await json('endpoint', 'status');
    assert.equal(statuses.length, 3);
    const leaders = new Set(statuses.map((s: { Status: { leader: number } }) => s.Status.leader));
    assert.equal(leaders.size, 1);
    // As etcd: the data file is larger than the pages holding data (LMDB's map is sparse ahead).
    for (const { Status } of statuses as { Status: { dbSize: number; dbSizeInUse: number } }[]) {
      assert.ok(Status.dbSizeInUse > 0 && Status.dbSizeInUse < Status.dbSize, JSON.stringify(Status));
    }
  });

  test('endpoint hashkv is equal on every member once they have applied the same history', async () => {
    // Followers apply a moment after the leader acknowledges: poll, bounded, until they agree.
    const distinctHashes = await waitFor('members to agree on HashKV', 10_000, async () => {
      const hashes = await json('endpoint', 'hashkv');
      const distinct = new Set(hashes.map((h: { HashKV: { hash: number } }) => h.HashKV.hash));
      return distinct.size === 1 ? distinct : undefined;
    });
    assert.equal(distinctHashes.size, 1);
  });

  /** Runs a command that blocks (watch, elect) for a bounded time and returns what it printed. */
  const etcdctlFor = async (ms: number, ...args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(ETCDCTL, [`--endpoints=${endpoints}`, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
        timeout: ms,
      });
      return stdout;
    } catch (error) {
      const killed = error as { killed?: boolean; stdout?: string };
      if (killed.killed === true) return killed.stdout ?? '';
      throw error;
    }
  };

  test('lease grant, attach, timetolive --keys, keep-alive --once, list, revoke', async () => {
    const granted = await etcdctl('lease', 'grant', '60');
    const id = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(granted)?.[1];
    assert.ok(id, granted);
    await etcdctl('put', 'leased-key', 'v', `--lease=${id}`);
    assert.match(await etcdctl('lease', 'timetolive', id, '--keys'), /attached keys\(\[leased-key\]\)/);
    assert.match(
      await etcdctl('lease', 'keep-alive', '--once', id),
      new RegExp(`lease ${id} keepalived with TTL\\(60\\)`),
    );
    assert.match(await etcdctl('lease', 'list'), new RegExp(id));
    assert.match(await etcdctl('lease', 'revoke', id), /revoked/);
    assert.equal((await json('get', 'leased-key')).count ?? 0, 0);
  });

  test('watch --rev replays history from a past revision', async () => {
    const first = await json('put', 'watched', 'one');
    await etcdctl('put', 'watched', 'two');
    const printed = await etcdctlFor(3_000, 'watch', 'watched', `--rev=${first.header.revision}`);
    assert.equal(printed, 'PUT\nwatched\none\nPUT\nwatched\ntwo\n');
  });

  test('lock runs a command while holding the lock', async () => {
    assert.equal(
      (await etcdctl('lock', 'deploy-lock', 'echo', 'holding the lock')).trim(),
      'holding the lock',
    );
  });

  test('elect campaigns, and elect -l observes the leader', async () => {
    const campaign = etcdctlFor(6_000, 'elect', 'choir', 'alice');
    const observed = await etcdctlFor(3_000, 'elect', '-l', 'choir');
    assert.match(observed, /^choir\/[0-9a-f]+\nalice\n/);
    assert.match(await campaign, /^choir\/[0-9a-f]+\nalice\n/);
  });

  test('member add --learner then member remove', async () => {
    const added = await etcdctl('member', 'add', 'spare', '--peer-urls=http://127.0.0.1:1', '--learner');
    const id = /Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    assert.ok(id, added);
    const listed = await etcdctl('member', 'list');
    assert.match(listed, new RegExp(`${id}, unstarted, , http://127.0.0.1:1, , true`));
    await etcdctl('member', 'remove', id);
    assert.doesNotMatch(await etcdctl('member', 'list'), new RegExp(id));
  });

  test('endpoint health reports every member healthy', async () => {
    // etcdctl 3.4 prints the health lines on stderr.
    const { stderr } = await run(ETCDCTL, [`--endpoints=${endpoints}`, 'endpoint', 'health'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    const healthy = stderr
      .split('\n')
      .filter((line) => /is healthy: successfully committed proposal/.test(line));
    assert.equal(healthy.length, 3, stderr);
  });

  test("member update changes a member's peer URLs", async () => {
    const added = await etcdctl('member', 'add', 'movable', '--peer-urls=http://127.0.0.1:2', '--learner');
    const id = /Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    assert.ok(id, added);
    await etcdctl('member', 'update', id, '--peer-urls=http://127.0.0.1:3');
    assert.match(
      await etcdctl('member', 'list'),
      new RegExp(`${id}, unstarted, , http://127.0.0.1:3, , true`),
    );
    await etcdctl('member', 'remove', id);
  });

  test('move-leader hands leadership to another member', async () => {
    // The simple output keeps ids in hex (JSON numbers would lose their low bits in JavaScript).
    const rows = async () =>
      (await etcdctl('endpoint', 'status'))
        .trim()
        .split('\n')
        .map((line) => line.split(', '))
        .map(([endpoint, id, , , isLeader]) => ({ endpoint, id, isLeader: isLeader === 'true' }));
    const before = await rows();
    const leader = before.find((r) => r.isLeader);
    const other = before.find((r) => !r.isLeader);
    assert.ok(leader && other, JSON.stringify(before));
    const { stdout } = await run(ETCDCTL, [`--endpoints=${leader.endpoint}`, 'move-leader', other.id], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    assert.match(stdout, new RegExp(`Leadership transferred from ${leader.id} to ${other.id}`));
    const moved = await waitFor('the new leader to report itself', 10_000, async () =>
      (await rows()).find((r) => r.isLeader)?.id === other.id ? true : undefined,
    );
    assert.equal(moved, true);
  });

  test('alarm list is empty on a healthy cluster', async () => {
    assert.equal((await etcdctl('alarm', 'list')).trim(), '');
  });
});
