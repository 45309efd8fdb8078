import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventType } from '../../src/mvcc/index.js';
import { ALL, b, s, withStore } from './helpers.js';

test('every write produces an event with kv and prevKv', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') });
    const result = store.applyEntry(store.appliedIndex() + 1, {
      type: 'txn',
      txn: {
        success: [
          { type: 'put', put: { key: b('a'), value: b('2') } },
          { type: 'put', put: { key: b('b'), value: b('1') } },
        ],
      },
    });
    assert.ok(result.status === 'applied');
    assert.deepEqual(
      result.events.map((e) => [
        e.type,
        s(e.kv.key),
        s(e.kv.value),
        e.kv.modRevision,
        e.prevKv && s(e.prevKv.value),
      ]),
      [
        [EventType.PUT, 'a', '2', 3, '1'],
        [EventType.PUT, 'b', '1', 3, undefined],
      ],
    );
    const deletion = store.applyEntry(store.appliedIndex() + 1, {
      type: 'deleteRange',
      deleteRange: { key: b('a'), rangeEnd: ALL },
    });
    assert.ok(deletion.status === 'applied');
    assert.deepEqual(
      deletion.events.map((e) => [
        e.type,
        s(e.kv.key),
        e.kv.modRevision,
        e.kv.version,
        e.prevKv && s(e.prevKv.value),
      ]),
      [
        [EventType.DELETE, 'a', 4, 0, '2'],
        [EventType.DELETE, 'b', 4, 0, '1'],
      ],
    );
  }));

test('a request that writes nothing produces no events', () =>
  withStore((store) => {
    const result = store.applyEntry(1, { type: 'deleteRange', deleteRange: { key: b('none') } });
    assert.ok(result.status === 'applied');
    assert.deepEqual(result.events, []);
  }));

test('changesSince replays past events in revision order, filtered by key range', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') }); // 2
    store.put({ key: b('x'), value: b('1') }); // 3
    store.put({ key: b('b'), value: b('1') }); // 4
    store.deleteRange({ key: b('a') }); // 5
    const { events, nextRevision } = store.changesSince(3, b('a'), b('c'), 0);
    assert.deepEqual(
      events.map((e) => [e.type, s(e.kv.key), e.kv.modRevision]),
      [
        [EventType.PUT, 'b', 4],
        [EventType.DELETE, 'a', 5],
      ],
    );
    assert.equal(nextRevision, 6);
  }));

test('changesSince with a limit stops at a revision boundary', () =>
  withStore((store) => {
    store.txn({
      success: [
        { type: 'put', put: { key: b('a'), value: b('1') } },
        { type: 'put', put: { key: b('b'), value: b('1') } },
      ],
    }); // 2
    store.put({ key: b('c'), value: b('1') }); // 3
    const first = store.changesSince(1, b('a'), ALL, 1);
    assert.equal(first.events.length, 2, 'both events of revision 2');
    assert.equal(first.nextRevision, 3);
    const rest = store.changesSince(first.nextRevision, b('a'), ALL, 1);
    assert.deepEqual(
      rest.events.map((e) => s(e.kv.key)),
      ['c'],
    );
    assert.equal(rest.nextRevision, 4);
  }));

test('changesSince with maxScannedRecords stops at a revision boundary after that many records', () =>
  withStore((store) => {
    for (let i = 0; i < 6; i++) store.put({ key: b(`other${i}`), value: b('1') }); // 2..7
    store.put({ key: b('mine'), value: b('1') }); // 8
    const first = store.changesSince(1, b('mine'), undefined, 0, 2);
    assert.deepEqual(first.events, []);
    assert.equal(first.nextRevision, 4);
    let next = first.nextRevision;
    let found: string[] = [];
    while (next <= store.currentRevision()) {
      const batch = store.changesSince(next, b('mine'), undefined, 0, 2);
      found = found.concat(batch.events.map((e) => s(e.kv.key)));
      assert.ok(batch.nextRevision > next);
      next = batch.nextRevision;
    }
    assert.deepEqual(found, ['mine']);
  }));
