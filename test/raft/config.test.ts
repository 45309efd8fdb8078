// Config validation: every limit is checked once, at construction, and a bad value is a
// RaftConfigError that names the field (so an operator knows which flag to fix).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MemoryLogStore,
  RaftConfigError,
  type RaftOptions,
  RawNode,
  SeededRng,
} from '../../src/raft/index.js';

type Invalid = { readonly field: string; readonly options: Record<string, unknown> };

const INVALID: readonly Invalid[] = [
  { field: 'id', options: { id: 0n } },
  { field: 'group', options: { group: -1 } },
  { field: 'applied', options: { applied: 1.5 } },
  { field: 'heartbeatTicks', options: { heartbeatTicks: 0 } },
  { field: 'electionTicks', options: { electionTicks: 0 } },
  { field: 'electionTicks', options: { electionTicks: 3, heartbeatTicks: 3 } },
  { field: 'maxMessageBytes', options: { maxMessageBytes: 0 } },
  { field: 'maxInflightMessages', options: { maxInflightMessages: 0 } },
  { field: 'maxInflightBytes', options: { maxInflightBytes: -1 } },
  { field: 'maxUncommittedBytes', options: { maxUncommittedBytes: 2.5 } },
  { field: 'maxCommittedBytesPerReady', options: { maxCommittedBytesPerReady: 0 } },
  { field: 'preVote', options: { preVote: 'yes' } },
  { field: 'checkQuorum', options: { checkQuorum: 1 } },
  { field: 'readOnly', options: { readOnly: 'eventual' } },
  { field: 'plantedBug', options: { plantedBug: 'no-such-bug' } },
  { field: 'plantedBug', options: { plantedBug: 'toString' } },
];

function create(options: Record<string, unknown>): RawNode {
  const base = { id: 1n, logStore: new MemoryLogStore(), rng: new SeededRng(1) };
  // Deliberately ill-typed: this is what a malformed flag or file would hand over.
  return new RawNode({ ...base, ...options } as unknown as RaftOptions);
}

for (const { field, options } of INVALID) {
  const shown = JSON.stringify(options, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value));
  test(`config: ${shown} is a RaftConfigError naming ${field}`, () => {
    assert.throws(
      () => create(options),
      (error: unknown) =>
        error instanceof RaftConfigError && new RegExp(`\\b${field}\\b`).test(error.message),
    );
  });
}

test('config: the defaults are valid', () => {
  assert.doesNotThrow(() => create({}));
});
