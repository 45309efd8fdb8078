// The dashboard in a real browser: a 3-member cluster of `flotilla serve` processes, headless
// chromium on one member's dashboard; three members and a leader appear; SIGKILL the leader; a
// new leader appears. Every wait is a page condition with a bounded timeout. Screenshots go to a
// temporary directory (printed) and to test-output/dashboard.png (git-ignored).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { chromiumSkipReason, requireChromium } from '../support/chromium.js';
import { FlotillaCluster } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const PAGE_CONDITION_TIMEOUT_MS = 20_000;
const NEW_LEADER_TIMEOUT_MS = 30_000;
const STABLE_OUTPUT_DIR = fileURLToPath(new URL('../../../test-output/', import.meta.url));
const VIEWPORT = { width: 1440, height: 1000 };
const PUTS = 200;

// Page conditions, evaluated in the browser (strings: this file is compiled without DOM types).
const THREE_MEMBERS_ONE_LEADER = `(() => {
  const rows = [...document.querySelectorAll('#members tbody tr')];
  return rows.length === 3 && rows.filter((r) => r.dataset.role === 'leader').length === 1;
})()`;

const REQUESTS_SHOWN = `(() => Number(document.querySelector('#request-rate')?.textContent) > 0)()`;

/** A leader other than `old` is named, and `old`'s row shows it unreachable. */
function newLeaderShown(old: string): string {
  return `(() => {
    const leader = document.querySelector('#leader-name')?.textContent?.trim() ?? '';
    const oldRow = document.querySelector('#members tbody tr[data-member=${JSON.stringify(old)}]');
    return leader !== '' && leader !== 'none' && leader !== ${JSON.stringify(old)} && oldRow?.dataset.role === 'unreachable';
  })()`;
}

async function leaderShown(page: Page): Promise<string> {
  return (await page.textContent('#leader-name'))?.trim() ?? '';
}

test('dashboard shows three members and a leader, then a new leader after the old one is killed', {
  skip: chromiumSkipReason(),
  timeout: 120_000,
}, async () => {
  const executablePath = requireChromium();
  const cluster = await FlotillaCluster.start(3, [], { metrics: true });
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath, headless: true });
    const page = await browser.newPage({ viewport: VIEWPORT });
    // Enter through a follower: the page must still gather every member itself.
    const leaderIndex = await cluster.leaderIndex();
    const entry = (leaderIndex + 1) % 3;
    await page.goto(`${cluster.metricsUrl(entry)}/`);

    await page.waitForFunction(THREE_MEMBERS_ONE_LEADER, undefined, { timeout: PAGE_CONDITION_TIMEOUT_MS });
    const firstLeader = await leaderShown(page);
    assert.equal(firstLeader, cluster.members[leaderIndex].name, 'the page names the real leader');
    const roles = await page
      .locator('#members tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-role')));
    assert.deepEqual([...roles].sort(), ['follower', 'follower', 'leader']);

    await cluster.kill(leaderIndex, 'SIGKILL');
    await page.waitForFunction(newLeaderShown(firstLeader), undefined, { timeout: NEW_LEADER_TIMEOUT_MS });
    const newLeader = await leaderShown(page);
    assert.notEqual(newLeader, firstLeader);
    assert.ok(
      cluster.members.some((m, i) => i !== leaderIndex && m.name === newLeader),
      `new leader ${newLeader} is a surviving member`,
    );
    // Traffic through a survivor shows up as a request rate on the page.
    const survivor = new EtcdClient(cluster.address((leaderIndex + 1) % 3));
    try {
      for (let i = 0; i < PUTS; i++) {
        const put = await survivor.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') });
        assert.ok('response' in put, `put ${i} failed: ${JSON.stringify(put)}`);
      }
    } finally {
      survivor.close();
    }
    await page.waitForFunction(REQUESTS_SHOWN, undefined, { timeout: PAGE_CONDITION_TIMEOUT_MS });

    const history = await page.textContent('#leader-history');
    assert.match(history ?? '', new RegExp(newLeader), 'leader history lists the new leader');

    const outputDir = mkdtempSync(join(tmpdir(), 'flotilla-dashboard-'));
    const screenshot = join(outputDir, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    mkdirSync(STABLE_OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(STABLE_OUTPUT_DIR, 'dashboard.png'), fullPage: true });
    process.stdout.write(`# dashboard screenshot: ${screenshot} (and test-output/dashboard.png)\n`);
  } catch (error) {
    process.stderr.write(cluster.describe());
    throw error;
  } finally {
    await browser?.close();
    await cluster.stop();
  }
});
