// The object a unary implementation gets for each request (src/server/api/grpc-server.ts). Its
// `cancelled` must be a getter every request shares, on a prototype: an object literal with its
// own getter gives each request a hidden class of its own, which kept the request's whole graph
// (stream, closures, decoded request) alive through scavenges; at 256 puts in flight that
// promotion was most of the leader's GC time.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { loadServices } from '../../src/server/api/grpc.js';
import { GrpcServer, type UnaryCall, type UnaryCallback } from '../../src/server/api/grpc-server.js';
import { connect, grpcFrame, methodDefinition, openCall, unaryRaw } from '../support/raw-grpc.js';

/** Bound on waiting for the server to see a request or a reset. */
const WAIT_MS = 5_000;

const calls: UnaryCall[] = [];
/** Calls the implementation holds without answering (the reset test answers none). */
let holdAnswers = false;
const held: { call: UnaryCall; callback: UnaryCallback }[] = [];
let server: GrpcServer;
let address: string;

before(async () => {
  server = new GrpcServer({
    maxReceiveMessageBytes: 1024 * 1024,
    maxConnections: 16,
    maxConcurrentStreams: 16,
    onConnectionsRefused: () => undefined,
  });
  server.addService(loadServices().KV, {
    Put: (call: UnaryCall, callback: UnaryCallback) => {
      calls.push(call);
      if (holdAnswers) held.push({ call, callback });
      else callback(null, { header: { revision: '7' } });
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  address = `127.0.0.1:${port}`;
});

after(async () => {
  await server.shutdown(1_000);
});

function putBody(key: string): Buffer {
  const put = methodDefinition('KV', 'Put');
  return grpcFrame(put.requestSerialize({ key: Buffer.from(key), value: Buffer.from('v') }));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('every unary call has the same shape: request, metadata and peer, cancelled from its prototype', async () => {
  const session = connect(address);
  try {
    calls.length = 0;
    for (const key of ['a', 'b']) {
      const outcome = await unaryRaw(session, '/etcdserverpb.KV/Put', putBody(key));
      assert.equal(outcome.grpcStatus, '0');
    }
    assert.equal(calls.length, 2);
    const [first, second] = calls as [UnaryCall, UnaryCall];
    assert.equal(Object.getPrototypeOf(first), Object.getPrototypeOf(second));
    assert.deepEqual(Object.keys(first), Object.keys(second));
    assert.equal(
      Object.getOwnPropertyDescriptor(first, 'cancelled'),
      undefined,
      'cancelled is an own property of each call: a per-request getter gives each call its own hidden class',
    );
    assert.equal(first.peer, '127.0.0.1');
    assert.deepEqual(first.metadata.get('content-type'), ['application/grpc']);
    assert.equal((first.request as { key: Buffer }).key.toString(), 'a');
  } finally {
    session.close();
  }
});

test('a call the client resets reads as cancelled, and answering it does nothing', async () => {
  const session = connect(address);
  try {
    holdAnswers = true;
    held.length = 0;
    const stream = openCall(session, '/etcdserverpb.KV/Put');
    stream.end(putBody('reset'));
    await until(() => held.length === 1, 'the request to reach the implementation');
    const { call, callback } = held[0]!;
    assert.equal(call.cancelled, false);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await until(() => call.cancelled, 'the reset to reach the server');
    callback(null, { header: { revision: '8' } }); // must not throw on a closed stream
  } finally {
    holdAnswers = false;
    session.close();
  }
});
