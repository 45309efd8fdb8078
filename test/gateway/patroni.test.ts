// Patroni on Flotilla: a three-member Flotilla cluster is the etcd3 store (Patroni's etcd3 backend
// speaks only the JSON gateway) of three Patroni-managed PostgreSQL instances on loopback ports.
//
//   1. A leader is elected, both replicas stream from it, one is the synchronous standby.
//   2. Rows are committed on the leader; its Patroni and PostgreSQL are killed with SIGKILL. A
//      replica is promoted within Patroni's TTL plus a margin, and has every committed row.
//   3. The Flotilla leader is killed with SIGKILL. For two TTLs Patroni keeps its leader, which
//      stays writable and is never demoted.
//
// `patronictl list` must show the cluster at every step. Every wait is a bounded poll.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';
import { PATRONI_TTL_S, PatroniCluster, type PatroniListRow, patroniSkipReason } from '../support/patroni.js';

/** Bootstrap: initdb on one member, base backups on two, a synchronous standby chosen. */
const BOOTSTRAP_TIMEOUT_MS = 90_000;
/** Promotion must come within the TTL plus this (Patroni's loop, its DCS retries, PostgreSQL's promote). */
const PROMOTION_MARGIN_MS = 15_000;
/** How long the Patroni leader is watched after the Flotilla leader dies. */
const OBSERVE_AFTER_FLOTILLA_KILL_MS = 2 * PATRONI_TTL_S * 1_000;
const ROW_COUNT = 1_000;

const leaderOf = (rows: PatroniListRow[]) => rows.filter((row) => row.Role === 'Leader');

test('Patroni on Flotilla: election, failover on kill -9, and riding out a Flotilla leader kill', {
  skip: patroniSkipReason(),
  timeout: 240_000,
}, async (t) => {
  const flotilla = await FlotillaCluster.start(3);
  let patroni: PatroniCluster | undefined;
  try {
    patroni = await PatroniCluster.create({
      scope: 'flotilla-test',
      size: 3,
      dcsHosts: flotilla.endpoints,
      synchronousMode: true,
    });
    const pg = patroni;
    for (let index = 0; index < pg.members.length; index++) pg.start(index);
    const indexOf = (name: string) => pg.members.findIndex((member) => member.name === name);

    // 1. A leader, two replicas streaming from it, one of them synchronous.
    const first = await waitFor(
      'a leader with two streaming replicas, one synchronous',
      BOOTSTRAP_TIMEOUT_MS,
      async () => {
        const rows = await pg.list();
        const leaders = leaderOf(rows);
        if (leaders.length !== 1 || leaders[0].State !== 'running') return undefined;
        if (!rows.some((row) => row.Role === 'Sync Standby' && row.State === 'running')) return undefined;
        const leader = indexOf(leaders[0].Member);
        const streaming = await pg.sql(
          leader,
          "select count(*) from pg_stat_replication where state = 'streaming'",
        );
        return streaming === '2' ? leader : undefined;
      },
    );
    t.diagnostic(`leader elected: ${pg.members[first].name}`);

    // 2. Committed rows survive a kill -9 of the leader; a replica takes over within TTL + margin.
    await pg.sql(first, `create table flotilla_rows as select generate_series(1, ${ROW_COUNT}) as n`);
    pg.killHard(first);
    const killedAt = performance.now();
    const second = await waitFor(
      'a replica promoted',
      PATRONI_TTL_S * 1_000 + PROMOTION_MARGIN_MS,
      async () => {
        for (let index = 0; index < pg.members.length; index++) {
          if (index === first) continue;
          if ((await pg.sql(index, 'select pg_is_in_recovery()').catch(() => 't')) === 'f') return index;
        }
        return undefined;
      },
    );
    const promotionMs = performance.now() - killedAt;
    t.diagnostic(
      `promoted ${pg.members[second].name} ${(promotionMs / 1_000).toFixed(1)} s after the kill (TTL ${PATRONI_TTL_S} s)`,
    );
    assert.equal(await pg.sql(second, 'select count(*) from flotilla_rows'), String(ROW_COUNT));
    const afterFailover = await waitFor(
      'patronictl list naming the new leader',
      PROMOTION_MARGIN_MS,
      async () => {
        const rows = await pg.list();
        return leaderOf(rows)[0]?.Member === pg.members[second].name ? rows : undefined;
      },
    );
    t.diagnostic(`after failover: ${JSON.stringify(afterFailover)}`);

    // 3. Kill the Flotilla leader: Patroni must keep its leader, writable, for two TTLs.
    const flotillaLeader = await flotilla.leaderIndex();
    await flotilla.kill(flotillaLeader);
    const observeUntil = performance.now() + OBSERVE_AFTER_FLOTILLA_KILL_MS;
    let checks = 0;
    while (performance.now() < observeUntil) {
      const rows = await pg.list();
      assert.deepEqual(
        leaderOf(rows).map((row) => row.Member),
        [pg.members[second].name],
        JSON.stringify(rows),
      );
      assert.equal(await pg.sql(second, 'select pg_is_in_recovery()'), 'f');
      checks++;
    }
    await pg.sql(second, 'insert into flotilla_rows values (0)');
    assert.equal(await pg.sql(second, 'select count(*) from flotilla_rows'), String(ROW_COUNT + 1));
    t.diagnostic(
      `Patroni leader held through a Flotilla leader kill (${checks} checks over ${OBSERVE_AFTER_FLOTILLA_KILL_MS / 1_000} s)`,
    );
  } catch (error) {
    t.diagnostic(patroni?.describe() ?? 'Patroni not started');
    throw error;
  } finally {
    await patroni?.stop();
    await flotilla.stop();
  }
});
