// `npm run bench:raft`: how fast is the consensus core alone? Three in-memory nodes, messages
// delivered synchronously, proposals in batches, no disk. Reports committed proposals per second
// and per CPU-second. The aim is that the core is never the bottleneck of a real node.

import { cpuUsage } from 'node:process';
import { MemoryLogStore } from '../src/raft/log-store.js';
import { RawNode } from '../src/raft/raw-node.js';
import { SeededRng } from '../src/raft/rng.js';
import { type Message, type NodeId, Role } from '../src/raft/types.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const BATCH_SIZES = [1, 16, 256];
const PAYLOAD_BYTES = 128;

interface BenchNode {
  readonly raw: RawNode;
  readonly store: MemoryLogStore;
  applied: number;
}

function makeCluster(): Map<NodeId, BenchNode> {
  const ids = [1n, 2n, 3n];
  const nodes = new Map<NodeId, BenchNode>();
  for (const id of ids) {
    const store = new MemoryLogStore();
    store.applySnapshot({
      metadata: { index: 1, term: 1, confState: { voters: ids, learners: [] } },
      data: new Uint8Array(0),
    });
    store.setHardState({ term: 1, vote: 0n, commit: 1 });
    const raw = new RawNode({
      id,
      logStore: store,
      rng: new SeededRng(Number(id)),
      applied: 1,
      maxInflightMessages: 1024,
    });
    nodes.set(id, { raw, store, applied: 0 });
  }
  return nodes;
}

/** Processes Ready batches on every node until nothing is left; returns entries applied. */
function pump(nodes: Map<NodeId, BenchNode>): void {
  for (let progress = true; progress; ) {
    progress = false;
    const inbox: Message[] = [];
    for (const node of nodes.values()) {
      if (!node.raw.hasReady()) continue;
      progress = true;
      const rd = node.raw.ready();
      if (rd.snapshot !== null) node.store.applySnapshot(rd.snapshot);
      node.store.append(rd.entries);
      if (rd.hardState !== null) node.store.setHardState(rd.hardState);
      for (const m of rd.messages) inbox.push(m);
      for (const m of rd.messagesAfterPersist) inbox.push(m);
      node.applied += rd.committedEntries.length;
      node.raw.advance(rd);
      // Keep memory flat: compact everything applied (no snapshot data needed for the bench).
      const applied = node.raw.raft.log.applied;
      if (applied - node.store.firstIndex() > 10_000) node.store.compact(applied - 100);
    }
    for (const m of inbox) nodes.get(m.to)?.raw.step(m);
  }
}

function runBatchSize(batchSize: number): { perSecond: number; perCpuSecond: number } {
  const nodes = makeCluster();
  const leader = nodes.get(1n)!;
  leader.raw.campaign();
  pump(nodes);
  if (leader.raw.raft.role !== Role.Leader) throw new Error('node 1 did not become leader');
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const appliedBefore = leader.applied;
  const cpuBefore = cpuUsage();
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) {
    for (let i = 0; i < batchSize; i++) leader.raw.propose(payload);
    pump(nodes);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpu = cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const committed = leader.applied - appliedBefore;
  return { perSecond: committed / elapsedSeconds, perCpuSecond: committed / cpuSeconds };
}

process.stdout.write(
  `raft core, 3 in-memory nodes, ${PAYLOAD_BYTES}-byte proposals, ${DURATION_MS} ms per row\n`,
);
process.stdout.write('batch | committed/s | committed/CPU-s\n');
for (const batchSize of BATCH_SIZES) {
  const { perSecond, perCpuSecond } = runBatchSize(batchSize);
  process.stdout.write(
    `${String(batchSize).padStart(5)} | ${Math.round(perSecond).toLocaleString('en-US').padStart(11)} | ${Math.round(perCpuSecond).toLocaleString('en-US').padStart(15)}\n`,
  );
}
