// One traced Put across three in-process members: the client sends a W3C `traceparent` to a
// follower; the spans of receive, forward, propose, persist (every member), replicate and commit
// (leader), apply (every member) and respond must all land in the caller's trace, correctly
// parented, exported to an InMemorySpanExporter.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/observability/logging.js';
import { NodeObservability } from '../../src/observability/node-observability.js';
import { type ClientServer, startClientServer } from '../../src/server/api/grpc.js';
import { parseServerConfig } from '../../src/server/config.js';
import { FlotillaNode } from '../../src/server/node.js';
import { waitFor } from '../support/flotilla.js';
import { loadEtcdServices } from '../support/grpc-client.js';
import { freePortPair, LOOPBACK_HOST } from '../support/ports.js';

const SPANS_TIMEOUT_MS = 10_000;
const LEADER_TIMEOUT_MS = 15_000;
const CALL_DEADLINE_MS = 10_000;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';

interface Member {
  node: FlotillaNode;
  server: ClientServer;
  clientPort: number;
}

async function startMembers(root: string, exporter: InMemorySpanExporter): Promise<Member[]> {
  const ports = await Promise.all([0, 1, 2].map(() => freePortPair()));
  const initialCluster = ports.map(([, peer], i) => `t${i + 1}=http://${LOOPBACK_HOST}:${peer}`).join(',');
  return Promise.all(
    ports.map(async ([clientPort, peerPort], i) => {
      const config = parseServerConfig(
        [
          `--name=t${i + 1}`,
          `--data-dir=${join(root, `t${i + 1}`)}`,
          `--listen-client-urls=http://${LOOPBACK_HOST}:${clientPort}`,
          `--listen-peer-urls=http://${LOOPBACK_HOST}:${peerPort}`,
          `--initial-cluster=${initialCluster}`,
        ],
        {},
      );
      const observability = new NodeObservability(config, {
        spanExporter: exporter,
        processMetrics: false,
        logger: createLogger({ level: 'error', member: config.name }),
      });
      const node = await FlotillaNode.start(config, observability);
      return { node, server: await startClientServer(node), clientPort };
    }),
  );
}

type PutMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null) => void,
) => void;

function tracedPut(port: number): Promise<void> {
  const client = new (loadEtcdServices().KV)(`${LOOPBACK_HOST}:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('traceparent', `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01`);
  const put = (client as unknown as { Put: PutMethod }).Put;
  return new Promise((resolve, reject) => {
    put.call(
      client,
      { key: Buffer.from('traced'), value: Buffer.from('yes') },
      metadata,
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error) => {
        client.close();
        if (error) reject(error);
        else resolve();
      },
    );
  });
}

const memberOf = (span: ReadableSpan) => String(span.attributes['flotilla.member']);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

test('one Put through a follower is one trace: receive, forward, propose, persist, replicate, commit, apply, respond', {
  timeout: 60_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-tracing-'));
  const exporter = new InMemorySpanExporter();
  const members = await startMembers(root, exporter);
  try {
    const leader = await waitFor('a leader', LEADER_TIMEOUT_MS, async () => {
      const found = members.find((m) => m.node.isLeader());
      return found !== undefined && members.every((m) => m.node.leaderId === found.node.memberId)
        ? found
        : undefined;
    });
    const follower = members.find((m) => m !== leader)!;
    const leaderName = leader.node.config.name;
    const followerName = follower.node.config.name;
    exporter.reset();

    await tracedPut(follower.clientPort);
    const spans = await waitFor('apply spans on every member', SPANS_TIMEOUT_MS, async () => {
      const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
      const applied = new Set(inTrace.filter((s) => s.name === 'raft.apply').map(memberOf));
      return applied.size === 3 ? inTrace : undefined;
    });
    const named = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      assert.equal(found.length, 1, `exactly one ${name} span, got ${found.length}`);
      return found[0];
    };

    const receive = one('etcdserverpb.KV/Put');
    assert.equal(parentOf(receive), CLIENT_SPAN_ID, 'the server span continues the caller’s trace');
    assert.equal(memberOf(receive), followerName);
    assert.equal(receive.attributes['rpc.grpc.status_code'], 0);
    assert.ok(receive.events.some((e) => e.name === 'respond'));

    const propose = one('flotilla.propose');
    assert.equal(parentOf(propose), receive.spanContext().spanId);
    assert.equal(memberOf(propose), followerName);
    const proposeId = propose.spanContext().spanId;

    const forward = one('raft.forward');
    assert.equal(parentOf(forward), proposeId);
    assert.equal(forward.attributes['flotilla.leader'], leaderName);

    const replicate = one('raft.replicate');
    assert.equal(memberOf(replicate), leaderName);
    assert.equal(parentOf(replicate), proposeId);
    assert.ok(
      replicate.events.some((e) => e.name === 'committed'),
      'commit is marked on the leader',
    );

    const persisted = new Set(named('raft.persist').map(memberOf));
    assert.deepEqual([...persisted].sort(), ['t1', 't2', 't3'], 'every member persists the entry');
    for (const span of [...named('raft.persist'), ...named('raft.apply')]) {
      assert.equal(parentOf(span), proposeId, `${span.name} on ${memberOf(span)} hangs under propose`);
    }
    const entryIndex = replicate.attributes['raft.index'];
    assert.ok(named('raft.apply').every((s) => s.attributes['raft.index'] === entryIndex));
  } finally {
    for (const member of members) {
      await member.server.stop();
      await member.node.stop();
    }
    rmSync(root, { recursive: true, force: true });
  }
});
