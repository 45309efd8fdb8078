// One client port, two protocols (src/server/api/protocol-sniffer.ts): gRPC and the JSON gateway
// answer on the same address and see the same data; a connection goes where its first bytes say,
// however they are split; HTTP/2 without gRPC is refused as etcd 3.4 refuses it; hostile bodies
// get an error and the member keeps serving.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { FlotillaCluster } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';
import { type Json, request, StreamReader } from './http-client.js';

/** Bound on waiting for an answer on a raw socket or a watch event. */
const ANSWER_TIMEOUT_MS = 5_000;

let cluster: FlotillaCluster;
let baseUrl: string;

before(async () => {
  cluster = await FlotillaCluster.start(1);
  baseUrl = `http://${cluster.address(0)}`;
});

after(async () => {
  await cluster.stop();
});

const base64 = (text: string) => Buffer.from(text).toString('base64');

function field(value: Json, ...path: (string | number)[]): Json | undefined {
  let current: Json | undefined = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, Json>)[key as string];
  }
  return current;
}

test('gRPC and the JSON gateway share the client port and its data', async () => {
  const client = new EtcdClient(cluster.address(0));
  try {
    const put = await client.put({ key: Buffer.from('via-grpc'), value: Buffer.from('one') });
    assert.ok('response' in put, JSON.stringify(put));
    const read = await request(baseUrl, '/v3/kv/range', JSON.stringify({ key: base64('via-grpc') }));
    assert.equal(read.status, 200);
    assert.equal(field(read.body, 'kvs', 0, 'value'), base64('one'));

    const written = await request(
      baseUrl,
      '/v3/kv/put',
      JSON.stringify({ key: base64('via-http'), value: base64('two') }),
    );
    assert.equal(written.status, 200);
    const range = await client.range({ key: Buffer.from('via-http') });
    assert.ok('response' in range, JSON.stringify(range));
    assert.equal(range.response.kvs[0]?.value.toString(), 'two');
  } finally {
    client.close();
  }
});

test('a connection whose first byte could start the HTTP/2 preface still reaches HTTP/1.1', async () => {
  const body = JSON.stringify({ key: base64('via-grpc') });
  const requestText = `OST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(cluster.members[0].clientPort, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error('no answer in time')), ANSWER_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', reject);
    // "P" matches the preface "PRI * HTTP/2.0..." so far: the sniffer must wait for more.
    socket.write('P', () => setTimeout(() => socket.write(requestText), 50));
  });
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(answer, new RegExp(`"value":"${base64('one')}"`));
});

test('HTTP/2 without gRPC is refused with 415, as on etcd 3.4 plaintext ports', async () => {
  const session = http2.connect(baseUrl);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/v3/kv/range',
        'content-type': 'application/json',
      });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.end(JSON.stringify({ key: base64('via-grpc') }));
    });
    assert.equal(status, 415);
  } finally {
    session.close();
  }
});

test('a watch streams events until the client leaves; the member keeps serving', async () => {
  const watch = new StreamReader(
    baseUrl,
    '/v3/watch',
    JSON.stringify({ create_request: { key: base64('watched') } }),
  );
  try {
    assert.ok(
      await watch.waitFor(
        (lines) => field(lines[0] ?? null, 'result', 'created') === true,
        ANSWER_TIMEOUT_MS,
      ),
    );
    await request(baseUrl, '/v3/kv/put', JSON.stringify({ key: base64('watched'), value: base64('v') }));
    const sawEvent = await watch.waitFor(
      (lines) => lines.some((line) => field(line, 'result', 'events', 0, 'kv', 'value') === base64('v')),
      ANSWER_TIMEOUT_MS,
    );
    assert.ok(sawEvent, JSON.stringify(watch.lines));
    assert.equal(watch.ended, false, 'a watch stays open after its request body ends');
  } finally {
    watch.close();
  }
  const after = await request(baseUrl, '/v3/kv/range', JSON.stringify({ key: base64('watched') }));
  assert.equal(after.status, 200);
});

test('an oversized body is refused with 429 and the member keeps serving', async () => {
  const huge = `{"key":"${'A'.repeat(6 * 1024 * 1024)}"}`;
  const refused = await request(baseUrl, '/v3/kv/put', huge);
  assert.equal(refused.status, 429);
  assert.equal(field(refused.body, 'code'), 8);
  const after = await request(baseUrl, '/v3/kv/range', JSON.stringify({ key: base64('via-grpc') }));
  assert.equal(after.status, 200);
});
