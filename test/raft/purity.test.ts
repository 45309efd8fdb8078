// The consensus core is a pure state machine (STYLE.md, after etcd raft): no timers, no clock,
// no unseeded randomness, no asynchrony, no process access, and no imports outside src/raft.
// This test reads the sources, so a change that breaks the rule fails here, not in a replay.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

// From dist/test/raft, the TypeScript sources are two levels above dist.
const RAFT_SOURCES = new URL('../../../src/raft/', import.meta.url);

const FORBIDDEN: readonly [string, RegExp][] = [
  ['setTimeout', /\bsetTimeout\b/],
  ['setInterval', /\bsetInterval\b/],
  ['setImmediate', /\bsetImmediate\b/],
  ['Date', /\bDate\b/],
  ['Math.random', /\bMath\.random\b/],
  ['Promise', /\bPromise\b/],
  ['async', /\basync\s/],
  ['await', /\bawait\s/],
  ['process.', /\bprocess\./],
];

/** Removes block and line comments (the sources hold no string containing comment markers). */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

function moduleSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  if (/\brequire\s*\(/.test(source)) specifiers.push('require(...)');
  return specifiers;
}

test('purity: src/raft uses no timers, clock, Math.random, async code or process, and imports only ./ modules', () => {
  const files = fs.readdirSync(RAFT_SOURCES).filter((name) => name.endsWith('.ts'));
  assert.ok(files.includes('raft.ts') && files.length >= 10, `found ${files.join(', ')}`);
  const violations: string[] = [];
  for (const name of files) {
    const source = stripComments(fs.readFileSync(new URL(name, RAFT_SOURCES), 'utf8'));
    for (const [label, pattern] of FORBIDDEN) if (pattern.test(source)) violations.push(`${name}: ${label}`);
    for (const specifier of moduleSpecifiers(source)) {
      if (!specifier.startsWith('./')) violations.push(`${name}: imports ${specifier}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('purity: the checker itself catches each forbidden construct', () => {
  const samples = [
    'setTimeout(f, 1);',
    'const t = setInterval(f, 1);',
    'setImmediate(f);',
    'const now = Date.now();',
    'const r = Math.random();',
    'let p: Promise<void>;',
    'async function f() {}',
    'await g();',
    'process.exit(1);',
  ];
  for (const [i, sample] of samples.entries()) assert.ok(FORBIDDEN[i][1].test(sample), sample);
  assert.deepEqual(moduleSpecifiers("import fs from 'node:fs';\nimport { x } from './x.js';"), [
    'node:fs',
    './x.js',
  ]);
  assert.equal(stripComments('a; // Date.now()\n/* setTimeout */ b;'), 'a; \n b;');
});
