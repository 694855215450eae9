// Resource limits: running out of descriptors, clients that do not read.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startChatd, stopAll, appConfig, Client, sleep, cpuSeconds } from './lib/chatd.mjs';

const servers = [];
after(() => stopAll(servers));

function rssKiB(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}

test('at the open-file limit the accept loop backs off, live sessions go on, and it recovers', async () => {
  // A chatd that may hold only 96 descriptors.
  const s = await startChatd({ wrap: ['prlimit', '--nofile=96:96', '--'], apps: [appConfig({ max_web_instances: 10 })] });
  servers.push(s);
  const alive = await Client.connect(s.url);
  assert.equal((await alive.login('survivor')).code, 0);

  // Ask for more connections than the process can hold.
  const sockets = Array.from({ length: 150 }, () => {
    const ws = new WebSocket(s.url);
    ws.on('error', () => {});
    ws.openedAt = null;
    ws.on('open', () => { ws.openedAt = Date.now(); });
    return ws;
  });
  await sleep(1500);
  const opened = () => sockets.filter((w) => w.openedAt !== null).length;
  const openedWhileFull = opened();
  assert.ok(openedWhileFull < 150, 'the limit was never reached');
  assert.ok(openedWhileFull > 20, `only ${openedWhileFull} connections opened`);

  // While exhausted: no busy loop, and the live session still answers.
  const cpuBefore = cpuSeconds(s.pid);
  await sleep(2000);
  const cpuUsed = cpuSeconds(s.pid) - cpuBefore;
  assert.ok(cpuUsed < 0.5, `chatd used ${cpuUsed}s of CPU in 2s while out of descriptors`);
  assert.equal((await alive.request('ping')).code, 0);
  assert.equal((await alive.request('isReady')).data.ready, true);
  assert.equal(opened(), openedWhileFull, 'accepted while it had no descriptors');

  // Free descriptors: the waiting connections are accepted.
  const open = sockets.filter((w) => w.openedAt !== null);
  for (const w of open.slice(0, 80)) w.terminate();
  const deadline = Date.now() + 5000;
  while (opened() < 150 && Date.now() < deadline) await sleep(50);
  assert.equal(opened(), 150, `${150 - opened()} connections were never accepted`);
  for (const w of sockets) w.terminate();
  await sleep(200);
  const late = await Client.connect(s.url);
  assert.equal((await late.login('latecomer')).code, 0);
  late.close(); alive.close();
});

test('a client that sends fast but reads is slowed down, never cut off', async () => {
  const s = await startChatd({ server: { outbox_frames: 16 } });
  servers.push(s);
  const c = await Client.connect(s.url);
  const answers = await Promise.all(Array.from({ length: 5000 }, () => c.request('ping', {}, 30000)));
  assert.ok(answers.every((a) => a.code === 0));
  assert.equal((await c.request('isReady')).code, 0);
  c.close();
});

// Under AddressSanitizer freed memory sits in a quarantine: RSS measures it too.
const rssBudgetKiB = process.env.ASAN_OPTIONS ? 512 * 1024 : 64 * 1024;

test('a client that does not read is cut off, and memory stays bounded', async () => {
  const s = await startChatd({ server: { outbox_frames: 16, send_stall_timeout_s: 1 } });
  servers.push(s);
  const bystander = await Client.connect(s.url);
  assert.equal((await bystander.login('bystander')).code, 0);

  const greedy = new WebSocket(s.url);
  await new Promise((resolve) => greedy.on('open', resolve));
  greedy.on('error', () => {});
  let closed = false;
  greedy.on('close', () => { closed = true; });
  greedy._socket.on('error', () => {});
  greedy._socket.pause();  // stop reading: the server's replies pile up
  const rssBefore = rssKiB(s.pid);
  const frame = JSON.stringify({ seq: 1, op: 'ping' });
  let sent = 0;
  // Keep sending until the server gives up on us (bounded in time).
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline && greedy._socket.writable && rssKiB(s.pid) - rssBefore < rssBudgetKiB) {
    for (let i = 0; i < 1000; ++i) greedy.send(frame);
    sent += 1000;
    await sleep(20);
    if (greedy._socket.destroyed || closed) break;  // the server reset us
  }
  greedy._socket.resume();
  const settle = Date.now() + 5000;
  while (!closed && Date.now() < settle) await sleep(50);
  assert.ok(closed, `still connected after ${sent} unread pings`);
  const grownKiB = rssKiB(s.pid) - rssBefore;
  assert.ok(grownKiB < rssBudgetKiB, `chatd grew by ${grownKiB} KiB`);
  assert.equal((await bystander.request('ping')).code, 0);
  bystander.close();
});

test('slowloris: a request that does not arrive whole in request_timeout_s is closed, and counted', async () => {
  const s = await startChatd({ server: { request_timeout_s: 1 } });
  servers.push(s);
  const bystander = await Client.connect(s.url);
  assert.equal((await bystander.login('bystander')).code, 0);
  const [host, port] = s.gateway.split(':');
  const socket = net.connect(Number(port), host);
  await new Promise((r) => socket.once('connect', r));
  const closed = new Promise((r) => socket.once('close', r));
  socket.on('error', () => {});
  const started = Date.now();
  socket.write('GET /v1/ws HTTP/1.1\r\nHost: x\r\n');  // and never the rest
  const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);  // activity does not extend it
  await closed;
  clearInterval(drip);
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 4000, `closed after ${took} ms`);
  assert.equal((await bystander.request('ping')).code, 0);
  const metrics = await (await fetch(`http://${s.metrics}/metrics`)).text();
  assert.match(metrics, /chatd_connection_errors_total\{kind="request_timeout"\} 1/);
});

test('an HTTP header block over max_header_bytes gets 431, and is counted', async () => {
  const s = await startChatd({ server: { max_header_bytes: 2048 } });
  servers.push(s);
  const res = await fetch(`http://${s.gateway}/healthz`, { headers: { 'x-big': 'y'.repeat(4096) } });
  assert.equal(res.status, 431);
  const ok = await fetch(`http://${s.gateway}/healthz`, { headers: { 'x-small': 'y'.repeat(512) } });
  assert.equal(ok.status, 200);
  const metrics = await (await fetch(`http://${s.metrics}/metrics`)).text();
  assert.match(metrics, /chatd_connection_errors_total\{kind="header_too_large"\} 1/);
});

test('connections that never log in are capped (max_unauthenticated): the next upgrade gets 503', async () => {
  const s = await startChatd({ server: { max_unauthenticated: 5 } });
  servers.push(s);
  const idle = [];
  for (let i = 0; i < 5; ++i) idle.push(await Client.connect(s.url));
  const refused = await Client.connect(s.url).then(() => 'opened', (e) => String(e.message));
  assert.match(refused, /503/);
  // A login frees a place; so does a close.
  assert.equal((await idle[0].login('now-known')).code, 0);
  const next = await Client.connect(s.url);
  idle[1].close();
  await sleep(200);
  const another = await Client.connect(s.url);
  const metrics = await (await fetch(`http://${s.metrics}/metrics`)).text();
  assert.match(metrics, /chatd_connection_errors_total\{kind="unauthenticated_cap"\} 1/);
  for (const c of [...idle, next, another]) c.close();
});

const errorCount = async (s, kind) => {
  const text = await (await fetch(`http://${s.metrics}/metrics`)).text();
  return Number(text.match(new RegExp(`chatd_connection_errors_total\\{kind="${kind}"\\} (\\d+)`))[1]);
};

test('one source address holds at most max_connections_per_address; others are not affected', async () => {
  const s = await startChatd({ server: { max_connections_per_address: 5 } });
  servers.push(s);
  const held = [];
  for (let i = 0; i < 5; ++i) held.push(await Client.connect(s.url, { localAddress: '127.0.0.1' }));
  // The sixth is closed at accept, WebSocket and plain HTTP alike.
  const refused = await Client.connect(s.url, { localAddress: '127.0.0.1' }).then(() => 'opened', () => 'refused');
  assert.equal(refused, 'refused');
  const health = await fetch(`http://${s.gateway}/healthz`).then(() => 'answered', () => 'refused');
  assert.equal(health, 'refused');
  // Another address is served, and the held connections work.
  const other = await Client.connect(s.url, { localAddress: '127.0.0.2' });
  assert.equal((await other.login('elsewhere')).code, 0);
  assert.equal((await held[0].login('held')).code, 0);
  // A close gives the address its place back.
  held[4].close();
  await sleep(200);
  const again = await Client.connect(s.url, { localAddress: '127.0.0.1' });
  assert.equal((await again.request('ping')).code, 0);
  assert.equal(await errorCount(s, 'address_cap'), 2);
  for (const c of [...held, other, again]) c.close();
});

test('login attempts per source address are rate limited (60018), before any UserSig check', async () => {
  const s = await startChatd({ server: { max_logins_per_address_per_s: 5 } });
  servers.push(s);
  const c = await Client.connect(s.url, { localAddress: '127.0.0.1' });
  // Five attempts with bad sigs spend the budget (no lockout: five users).
  for (let i = 0; i < 5; ++i) assert.equal((await c.login(`u${i}`, { userSig: 'bad' })).code, 70003);
  const limited = await c.login('u5', { userSig: 'bad' });
  assert.equal(limited.code, 60018);
  assert.match(limited.message, /too many login attempts/);
  // Reconnecting does not refill it; another address has its own budget.
  const fresh = await Client.connect(s.url, { localAddress: '127.0.0.1' });
  assert.equal((await fresh.login('good')).code, 60018);
  const other = await Client.connect(s.url, { localAddress: '127.0.0.3' });
  assert.equal((await other.login('good-elsewhere')).code, 0);
  // The budget refills at 5 a second: a good login goes through shortly after.
  await sleep(400);
  const ok = await fresh.login('good');
  assert.equal(ok.code, 0, JSON.stringify(ok));
  assert.ok(await errorCount(s, 'address_login_rate') >= 2);
  for (const x of [c, fresh, other]) x.close();
});
