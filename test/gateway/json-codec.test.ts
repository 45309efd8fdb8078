// The gateway's JSON translation, one rule per test, with expectations taken from a real etcd
// 3.4.23 (the texts are what its gateway answered to the same bodies). The differential test
// checks the same at random and at scale; these run without etcd and say which rule broke.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Base64Error, goBase64Decode } from '../../src/server/gateway/go-base64.js';
import { readValue, syntaxError } from '../../src/server/gateway/go-json.js';
import { goJsonString } from '../../src/server/gateway/go-text.js';
import { decodeMessage, JsonRequestError } from '../../src/server/gateway/json-request.js';
import { encodeMessage } from '../../src/server/gateway/json-response.js';
import { parseValidJson } from '../../src/server/gateway/json-tree.js';
import { loadRoutes } from '../../src/server/gateway/routes.js';
import { protoDirectory } from '../support/grpc-client.js';

const routes = loadRoutes(`${protoDirectory()}/`, ['rpc.proto', 'v3lock.proto', 'v3election.proto']);
const route = (path: string) => {
  const found = routes.get(path);
  if (found === undefined) throw new Error(`no route ${path}`);
  return found;
};

function firstValueError(body: string): string | undefined {
  const result = readValue(Buffer.from(body, 'latin1'), 0, true);
  return result.kind === 'error' ? result.message : undefined;
}

function decode(path: string, body: string): Record<string, unknown> {
  return decodeMessage(route(path).requestType, parseValidJson(Buffer.from(body)));
}

describe('JSON syntax errors read as Go writes them', () => {
  const cases: [string, string][] = [
    ['{bad', "invalid character 'b' looking for beginning of object key string"],
    ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
    ['{"x": [1,2,{"a":tru}]}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"x": 01}', "invalid character '1' after object key:value pair"],
    ['{"x": "\\q"}', "invalid character 'q' in string escape code"],
    ["{'x': 1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"x": 1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"x": "\\u12"}', "invalid character '\"' in \\u hexadecimal character escape"],
    ['{"key":"Zm9v","x"', 'unexpected EOF'],
  ];
  for (const [body, message] of cases) {
    test(body, () => assert.equal(firstValueError(body), message));
  }

  test('only the first value counts; white space alone is the end of input', () => {
    assert.deepEqual(readValue(Buffer.from(' {"a":1} trailing'), 0, true), {
      kind: 'value',
      start: 1,
      end: 8,
    });
    assert.deepEqual(readValue(Buffer.from(' \n '), 0, true), { kind: 'eof' });
    assert.deepEqual(readValue(Buffer.from('{"a":'), 0, false), { kind: 'incomplete' });
  });

  test("json.Unmarshal's whole-input check", () => {
    assert.equal(syntaxError(Buffer.from('')), 'unexpected end of JSON input');
    assert.equal(syntaxError(Buffer.from('3x')), "invalid character 'x' after top-level value");
    assert.equal(syntaxError(Buffer.from(' 3 ')), undefined);
  });
});

describe('base64 as Go decodes []byte', () => {
  test('valid input, padded, newlines skipped', () => {
    assert.equal(goBase64Decode(Buffer.from('Zm9v')).toString(), 'foo');
    assert.equal(goBase64Decode(Buffer.from('Zm8=')).toString(), 'fo');
    assert.equal(goBase64Decode(Buffer.from('Zm\n9v')).toString(), 'foo');
  });
  for (const [input, offset] of [
    ['not base64!', 3],
    ['Zm9', 0],
    ['Zm9v-_', 4],
    ['Zm8', 0],
    ['Zg=', 3],
    ['Zg==x', 4],
  ] as const) {
    test(`${input} fails at byte ${offset}`, () => {
      assert.throws(
        () => goBase64Decode(Buffer.from(input)),
        (error: unknown) => {
          return (
            error instanceof Base64Error && error.message === `illegal base64 data at input byte ${offset}`
          );
        },
      );
    });
  }
});

describe('request bodies as jsonpb reads them', () => {
  test('int64 as a string or a number; enums by name or number; lowerCamel names', () => {
    assert.deepEqual(
      decode('/kv/range', '{"key":"Zm9v","limit":"3","sortOrder":"DESCEND","sort_target":2}'),
      {
        key: Buffer.from('foo'),
        limit: '3',
        sort_order: 2,
        sort_target: 2,
      },
    );
  });

  test('defaults are not sent; null means unset; a oneof member is sent even at its default', () => {
    assert.deepEqual(decode('/kv/range', '{"key":null,"range_end":"","limit":0,"serializable":false}'), {});
    const txn = decode('/kv/txn', '{"compare":[{"key":"YQ==","target":"VERSION","version":"0"}]}');
    assert.deepEqual(txn.compare, [{ key: Buffer.from('a'), version: '0' }]);
  });

  const errors: [string, string, string][] = [
    ['/kv/range', '{"limit":3.5}', 'json: cannot unmarshal number 3.5 into Go value of type int64'],
    ['/kv/range', '{"limit":"abc"}', "invalid character 'a' looking for beginning of value"],
    ['/kv/range', '{"limit":""}', 'unexpected end of JSON input'],
    ['/kv/range', '{"limit":true}', 'json: cannot unmarshal bool into Go value of type int64'],
    ['/kv/range', '{"serializable":"true"}', 'json: cannot unmarshal string into Go value of type bool'],
    ['/kv/range', '{"key":1}', 'json: cannot unmarshal number into Go value of type []uint8'],
    ['/kv/range', '{"key":"Zm9"}', 'illegal base64 data at input byte 0'],
    [
      '/kv/range',
      '{"sort_order":"NOPE"}',
      'unknown value "NOPE" for enum etcdserverpb.RangeRequest_SortOrder',
    ],
    ['/kv/range', '[]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
    ['/kv/txn', '{"compare":{}}', 'json: cannot unmarshal object into Go value of type []json.RawMessage'],
    [
      '/kv/range',
      '{"limit":"9223372036854775808"}',
      'json: cannot unmarshal number 9223372036854775808 into Go value of type int64',
    ],
  ];
  for (const [path, body, message] of errors) {
    test(`${body} → ${message}`, () => {
      assert.throws(
        () => decode(path, body),
        (error: unknown) => error instanceof JsonRequestError && error.message === message,
      );
    });
  }
});

describe('answers as jsonpb writes them (OrigName, no defaults)', () => {
  test('defaults left out, 64-bit integers quoted, bytes base64, a present empty message kept', () => {
    const json = encodeMessage(route('/kv/txn').responseType, {
      header: { cluster_id: '1', member_id: '0', revision: '5', raft_term: '0' },
      succeeded: false,
      responses: [{ response_txn: { header: { revision: '0' }, succeeded: true, responses: [] } }],
    });
    assert.equal(
      json,
      '{"header":{"cluster_id":"1","revision":"5"},"responses":[{"response_txn":{"header":{},"succeeded":true}}]}',
    );
  });

  test('enums by name, 32-bit integers as numbers', () => {
    const watch = encodeMessage(route('/watch').responseType, {
      events: [{ type: 1, kv: { key: Buffer.from('a'), mod_revision: '7', value: Buffer.alloc(0) } }],
    });
    assert.equal(watch, '{"events":[{"type":"DELETE","kv":{"key":"YQ==","mod_revision":"7"}}]}');
    assert.equal(
      encodeMessage(route('/maintenance/hash').responseType, { hash: 3954928096 }),
      '{"hash":3954928096}',
    );
  });

  test('strings escaped as Go escapes them (HTML-safe)', () => {
    assert.equal(goJsonString('a<b>&"\\\n\u2028'), '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\u2028"');
  });
});
