// The curl examples in docs/http-gateway.md, run exactly as written (only the address changes)
// against a fresh one-member cluster, in order; each example's output must match the fenced block
// that follows it. Ids, terms, sizes and ports vary between runs and are normalized on both
// sides; `…` in an expected block matches any value.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FlotillaCluster } from '../support/flotilla.js';

const DOC = fileURLToPath(new URL('../../../docs/http-gateway.md', import.meta.url));
/** The address the examples are written for. */
const DOC_CLIENT = '127.0.0.1:2379';
const DOC_PEER_PORT = '2380';
/** Bound on one example (the watch example ends itself after two seconds). */
const EXAMPLE_TIMEOUT_MS = 15_000;
/** The page has this many examples or more; fewer means the parsing below broke. */
const MIN_EXAMPLES = 12;

interface Example {
  readonly command: string;
  readonly expected: string;
  readonly line: number;
}

/** Each ```sh block with the fenced block right after it (its expected output). */
function examples(markdown: string): Example[] {
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  const blocks = [...markdown.matchAll(fence)].map((match) => ({
    language: match[1],
    text: match[2],
    line: markdown.slice(0, match.index).split('\n').length,
  }));
  const found: Example[] = [];
  blocks.forEach((block, index) => {
    if (block.language !== 'sh') return;
    const output = blocks[index + 1];
    if (output === undefined || output.language !== 'text') {
      throw new Error(`docs/http-gateway.md:${block.line}: an sh example needs an output block after it`);
    }
    found.push({ command: block.text, expected: output.text, line: block.line });
  });
  return found;
}

/** Replaces what differs between clusters and runs with placeholders. */
function normalize(text: string): string {
  return text
    .replace(
      /"(cluster_id|member_id|raft_term|leader|raftIndex|raftTerm|raftAppliedIndex|dbSize|dbSizeInUse)":"\d+"/g,
      '"$1":"<n>"',
    )
    .replace(/"ID":"\d+","name":"[^"]*"/g, '"ID":"<n>","name":"<name>"')
    .trim();
}

/** An expected line as a pattern: `…` matches any run of characters within a JSON string. */
function linePattern(expected: string): RegExp {
  const parts = expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^"]*')}$`);
}

function run(command: string): Promise<string> {
  return new Promise((resolve) => {
    // The exit status is not checked: the watch example ends by its --max-time (curl exits 28).
    execFile('bash', ['-c', command], { timeout: EXAMPLE_TIMEOUT_MS }, (_error, stdout) => resolve(stdout));
  });
}

test('the curl examples in docs/http-gateway.md give the output shown', async () => {
  const found = examples(readFileSync(DOC, 'utf8'));
  assert.ok(found.length >= MIN_EXAMPLES, `found only ${found.length} examples`);
  const cluster = await FlotillaCluster.start(1);
  try {
    const client = cluster.address(0);
    const peerPort = String(cluster.members[0].peerPort);
    for (const example of found) {
      const output = (await run(example.command.replaceAll(DOC_CLIENT, client)))
        .replaceAll(client, DOC_CLIENT)
        .replaceAll(`127.0.0.1:${peerPort}`, `127.0.0.1:${DOC_PEER_PORT}`);
      const actualLines = normalize(output).split('\n');
      const expectedLines = normalize(example.expected).split('\n');
      const where = `docs/http-gateway.md:${example.line}`;
      assert.equal(actualLines.length, expectedLines.length, `${where}: got\n${output}`);
      expectedLines.forEach((expected, index) => {
        assert.match(actualLines[index], linePattern(expected), `${where}, output line ${index + 1}`);
      });
    }
  } finally {
    await cluster.stop();
  }
});
