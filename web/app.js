// The Flotilla dashboard: subscribes to /api/stream (server-sent events) on the member that serves
// the page; each event is a whole cluster snapshot that member gathered from every member's
// /api/status. No framework: a table, a few lists and four uPlot charts.
/* global LiveChart */

const charts = {
  lagEntries: new LiveChart(document.getElementById('lag-entries-chart'), 'entries'),
  lagMs: new LiveChart(document.getElementById('lag-ms-chart'), 'ms'),
  rate: new LiveChart(document.getElementById('rate-chart'), 'req/s'),
  latency: new LiveChart(document.getElementById('latency-chart'), 'ms'),
};

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function clock(atMs) {
  return new Date(atMs).toLocaleTimeString();
}

function cell(row, value, className) {
  const td = document.createElement('td');
  td.textContent = value === null || value === undefined ? '—' : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function renderMembers(snapshot) {
  const body = document.querySelector('#members tbody');
  const rows = snapshot.members.map((member) => {
    const row = document.createElement('tr');
    row.dataset.member = member.name;
    row.dataset.role = member.role;
    cell(row, member.name + (member.name === snapshot.servedBy ? ' (this page)' : ''));
    const role = cell(row, '');
    const badge = document.createElement('span');
    badge.className = `role role-${member.role}`;
    badge.textContent = member.role;
    role.appendChild(badge);
    cell(row, member.term, 'number');
    cell(row, member.commitIndex, 'number');
    cell(row, member.appliedIndex, 'number');
    cell(row, member.healthy ? 'healthy' : 'unhealthy', member.healthy ? 'healthy' : 'unhealthy');
    return row;
  });
  body.replaceChildren(...rows);
  const alarms = document.getElementById('alarms');
  alarms.hidden = snapshot.alarms.length === 0;
  alarms.textContent = snapshot.alarms.length === 0 ? '' : `alarms: ${snapshot.alarms.join(', ')}`;
}

function listItems(id, items, render) {
  const list = document.getElementById(id);
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      render(li, item);
      return li;
    }),
  );
}

function timed(li, atMs, label, body) {
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = clock(atMs);
  li.appendChild(time);
  if (label) {
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = label;
    li.appendChild(kind);
  }
  li.appendChild(document.createTextNode(body));
}

function render(snapshot) {
  text('served-by', snapshot.servedBy);
  text('leader-name', snapshot.leader === null ? 'none' : snapshot.leader.name);
  text('leader-term', snapshot.leader === null ? '—' : String(snapshot.leader.term));
  renderMembers(snapshot);
  listItems('leader-history', [...snapshot.leaderHistory].reverse(), (li, change) =>
    timed(li, change.atMs, '', `${change.name} (term ${change.term})`),
  );
  listItems('events', snapshot.events, (li, event) =>
    timed(li, event.atMs, `[${event.kind}] ${event.member}:`, event.text),
  );
  text('watchers', snapshot.watchers);
  text('slow-watchers', snapshot.slowWatchers);
  text('pending-events', snapshot.pendingEvents);
  text('leases', snapshot.leases);
  const lagEntries = {};
  const lagMs = {};
  for (const follower of snapshot.followers) {
    lagEntries[follower.name] = follower.lagEntries;
    lagMs[follower.name] = Math.round(follower.lagSeconds * 1000);
  }
  charts.lagEntries.push(snapshot.atMs, lagEntries);
  charts.lagMs.push(snapshot.atMs, lagMs);
  text('request-rate', snapshot.requests.perSecond.toFixed(1));
  text('request-p99', snapshot.requests.p99Ms === null ? '—' : `${snapshot.requests.p99Ms.toFixed(1)} ms`);
  charts.rate.push(snapshot.atMs, { 'req/s': snapshot.requests.perSecond });
  charts.latency.push(snapshot.atMs, {
    p50: snapshot.requests.p50Ms,
    p90: snapshot.requests.p90Ms,
    p99: snapshot.requests.p99Ms,
  });
}

function connect() {
  const connection = document.getElementById('connection');
  const source = new EventSource('/api/stream');
  source.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  };
  source.onmessage = (message) => render(JSON.parse(message.data));
  // EventSource reconnects by itself; say so while it does.
  source.onerror = () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'connection lost';
  };
}

connect();
