// Health endpoints. /health answers like etcd (JSON {"health":"true","reason":""}, 200 or 503:
// etcd 3.5's shape; etcd 3.4 omits "reason" and clients read only "health"). /livez says the
// process and its event loop answer. /readyz says this member can serve: it knows a leader and
// has applied everything it knows to be committed.

/** etcd's name for alarm type 1. */
export const ALARM_NOSPACE_NAME = 'NOSPACE';

export interface HealthSource {
  hasLeader(): boolean;
  commitIndex(): number;
  appliedIndex(): number;
  /** Alarm names active anywhere in the cluster (e.g. NOSPACE). */
  activeAlarms(): readonly string[];
}

export interface HealthAnswer {
  readonly status: 200 | 503;
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';

function answer(ok: boolean, contentType: string, body: string): HealthAnswer {
  return { status: ok ? 200 : 503, contentType, body };
}

/** etcd's /health: unhealthy without a leader or with an active alarm (etcd's reasons). */
export function health(source: HealthSource): HealthAnswer {
  let reason = '';
  if (!source.hasLeader()) reason = 'RAFT NO LEADER';
  else {
    const alarms = source.activeAlarms();
    if (alarms.length > 0)
      reason = `ALARM ${alarms.includes(ALARM_NOSPACE_NAME) ? ALARM_NOSPACE_NAME : alarms[0]}`;
  }
  const healthy = reason === '';
  return answer(healthy, JSON_TYPE, JSON.stringify({ health: String(healthy), reason }));
}

/** Ready: a leader is known and applied has reached the commit index. Lists each check, like etcd 3.5. */
export function readyz(source: HealthSource): HealthAnswer {
  const leader = source.hasLeader();
  const commit = source.commitIndex();
  const applied = source.appliedIndex();
  const caughtUp = applied >= commit;
  const lines = [
    leader ? '[+]leader ok' : '[-]leader failed: no leader known',
    caughtUp ? '[+]applied ok' : `[-]applied failed: applied ${applied} < commit ${commit}`,
  ];
  const ok = leader && caughtUp;
  return answer(ok, TEXT_TYPE, `${lines.join('\n')}\n${ok ? 'ok' : 'not ready'}\n`);
}

/** Live: answering at all means the event loop turns. */
export function livez(): HealthAnswer {
  return answer(true, TEXT_TYPE, '[+]serving ok\nok\n');
}
