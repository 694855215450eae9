// A partition nemesis for chatd clusters: every directed cluster link and
// every node's way to PostgreSQL goes through a TCP proxy of ours that a
// test can cut, heal, delay and make one-way; nodes can be frozen
// (SIGSTOP) and killed. Clients record a timestamped history of all they
// saw, and a checker reads the whole history (docs/CLUSTER.md, "Testing").
import { createServer, connect } from 'node:net';
import { Client, sig, sleep, freePort, startChatd, appConfig, APP } from './chatd.mjs';
import { freshDatabase, waitForMembers, waitForShards } from './cluster.mjs';

// One TCP proxy: forwards 127.0.0.1:port to target. Each direction can be
// cut: its bytes wait in the proxy, in order, and go on when it heals (as a
// partition does to TCP, which retransmits until the link heals or one side
// gives up and closes: a TCP stream never loses bytes in the middle), or
// be delayed. `reset` closes every connection and refuses new ones (a
// firewall's REJECT, or the far side's crash). A close on either side
// closes both, and what waited goes with it.
export class LinkProxy {
  constructor(name, targetPort) {
    this.name = name;
    this.targetPort = targetPort;
    this.drop = { up: false, down: false };  // up: client -> target; true: cut
    this.delayMs = 0;
    this.rejecting = false;
    this.pairs = new Set();
  }

  async start() {
    this.server = createServer((client) => this.#accept(client));
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  #accept(client) {
    if (this.rejecting) { client.destroy(); return; }
    const target = connect(this.targetPort, '127.0.0.1');
    const pair = { client, target, queue: { up: [], down: [] }, timer: { up: null, down: null } };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      target.destroy();
      for (const t of Object.values(pair.timer)) if (t) clearTimeout(t);
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    target.on('error', end).on('close', end);
    client.on('data', (d) => this.#forward(pair, d, target, 'up'));
    target.on('data', (d) => this.#forward(pair, d, client, 'down'));
  }

  // One queue per direction: bytes leave in the order they came, once due
  // (the delay) and while the direction is not cut.
  #forward(pair, data, to, direction) {
    pair.queue[direction].push({ data, to, due: performance.now() + this.delayMs });
    this.#pump(pair, direction);
  }

  #pump(pair, direction) {
    const queue = pair.queue[direction];
    if (pair.timer[direction]) return;
    while (queue.length > 0 && !this.drop[direction]) {
      const wait = queue[0].due - performance.now();
      if (wait > 0) {
        pair.timer[direction] = setTimeout(() => {
          pair.timer[direction] = null;
          this.#pump(pair, direction);
        }, wait);
        return;
      }
      const { data, to } = queue.shift();
      to.write(data);
    }
  }

  // What waited in each direction that is no longer cut goes on, in order.
  #release() {
    for (const pair of this.pairs) for (const direction of ['up', 'down']) this.#pump(pair, direction);
  }

  reset() {
    this.rejecting = true;
    for (const { client, target } of this.pairs) { client.destroy(); target.destroy(); }
    this.pairs.clear();
  }

  heal() {
    this.drop = { up: false, down: false };
    this.delayMs = 0;
    this.rejecting = false;
    this.#release();
  }

  close() {
    this.reset();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// `count` nodes n1..nN on one fresh PostgreSQL database; node i reaches
// node j only through links.get(`ni>nj`), and PostgreSQL only through
// pg.get(`ni`). Resolves once every node is connected to every other one
// and admits logins for its share of the shards.
export async function startNemesisCluster(count, { app = {}, cluster = {}, server = {}, url = freshDatabase('chatd_nemesis') } = {}) {
  // A port taken between freePort() and chatd's bind (another process's
  // port 0) is retried with new ports; whatever started is stopped first.
  for (let attempt = 1; ; ++attempt) {
    try {
      return await startOnce(count, { app, cluster, server, url });
    } catch (e) {
      if (attempt >= 3 || !/cannot listen/.test(e.message)) throw e;
    }
  }
}

async function startOnce(count, { app, cluster, server, url }) {
  const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  // The proxies bind first: a node port picked after them is not one of theirs.
  const links = new Map();
  for (const a of names)
    for (const b of names)
      if (a !== b) links.set(`${a}>${b}`, await new LinkProxy(`${a}>${b}`, null).start());
  const pgPort = Number(new URL(url).port);
  const pg = new Map();
  for (const n of names) pg.set(n, await new LinkProxy(`${n}>pg`, pgPort).start());
  const ports = new Map();
  for (const n of names) ports.set(n, await freePort());
  for (const [name, link] of links) link.targetPort = ports.get(name.split('>')[1]);
  const proxies = [...links.values(), ...pg.values()];
  const starts = await Promise.allSettled(names.map((name) => {
    const pgUrl = new URL(url);
    pgUrl.port = String(pg.get(name).port);
    return startChatd({
      server,
      apps: [appConfig(app)],
      store: { backend: 'postgres', postgres_url: pgUrl.toString() },
      cluster: {
        node: name, listen: `127.0.0.1:${ports.get(name)}`,
        peers: names.filter((b) => b !== name).map((b) => `127.0.0.1:${links.get(`${name}>${b}`).port}`),
        heartbeat_interval_ms: 200, connection_timeout_ms: 1000, ...cluster,
      },
    });
  }));
  const failed = starts.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(starts.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop().catch(() => {})));
    await Promise.all(proxies.map((p) => p.close()));
    throw failed.reason;
  }
  const nodes = starts.map((r) => r.value);
  nodes.forEach((n, i) => { n.name = names[i]; });
  const net = new Nemesis(nodes, links, pg);
  try {
    await waitForMembers(nodes, count);
    await waitForShards(nodes);
  } catch (e) {
    await net.stop().catch(() => {});
    throw e;
  }
  return net;
}

export class Nemesis {
  constructor(nodes, links, pg) {
    this.nodes = nodes;
    this.links = links;
    this.pg = pg;
    this.frozen = new Set();
    this.log = [];  // what the nemesis did, with timestamps
  }

  node(name) { return this.nodes.find((n) => n.name === name); }
  #note(what) { this.log.push({ t: performance.now(), what }); }

  // Nothing from `a` reaches `b` (whichever of the two connections carries it).
  cutOneWay(a, b) {
    this.links.get(`${a}>${b}`).drop.up = true;
    this.links.get(`${b}>${a}`).drop.down = true;
    this.#note(`cut ${a}->${b}`);
  }

  cut(a, b) { this.cutOneWay(a, b); this.cutOneWay(b, a); }

  delay(a, b, ms) {
    this.links.get(`${a}>${b}`).delayMs = ms;
    this.links.get(`${b}>${a}`).delayMs = ms;
    this.#note(`delay ${a}<->${b} ${ms} ms`);
  }

  isolate(a) { for (const n of this.nodes) if (n.name !== a) this.cut(a, n.name); }

  cutPostgres(a) { this.pg.get(a).reset(); this.#note(`cut ${a}->pg`); }

  // A frozen node cannot tell its clients anything: while it is frozen its
  // clients are not counted as online (History.suspend), and from its thaw
  // on they are again unless the node ends them at once (it must, if it
  // was frozen past a connection timeout: cluster_node.cpp, woke_up).
  freeze(a) {
    process.kill(this.node(a).pid, 'SIGSTOP');
    this.frozen.add(a);
    this.history?.suspend(a);
    this.#note(`freeze ${a}`);
  }

  thaw(a) {
    process.kill(this.node(a).pid, 'SIGCONT');
    this.frozen.delete(a);
    this.history?.resume(a, 300);
    this.#note(`thaw ${a}`);
  }

  healAll() {
    for (const l of this.links.values()) l.heal();
    for (const p of this.pg.values()) p.heal();
    for (const a of [...this.frozen]) this.thaw(a);
    this.#note('heal all');
  }

  async stop() {
    this.healAll();
    const failures = [];
    for (const n of this.nodes) await n.stop().catch((e) => failures.push(e));
    for (const p of [...this.links.values(), ...this.pg.values()]) await p.close();
    if (failures.length) throw failures[0];
  }
}

// --- The history --------------------------------------------------------

// Every client of a test writes to one history: each login's request and
// answer, each event (ready, kick, not-ready), each close, with times.
export class History {
  constructor() { this.entries = []; this.clients = []; }
  add(entry) { this.entries.push({ t: performance.now(), ...entry }); }

  suspend(node) {
    for (const c of this.clients)
      if (c.node === node && c.online && !c.suspended) {
        c.suspended = true;
        this.add({ client: c.id, user: c.user, node, kind: 'offline', why: 'node frozen' });
      }
  }

  // `graceMs` after the thaw, the clients the node has not ended count again.
  resume(node, graceMs) {
    setTimeout(() => {
      for (const c of this.clients)
        if (c.node === node && c.suspended) {
          c.suspended = false;
          if (c.online) this.add({ client: c.id, user: c.user, node, kind: 'answer', code: 0, why: 'resumed' });
        }
    }, graceMs);
  }
}

// A native client of `user` on `node` that records what it sees.
export class RecordedClient {
  static async login(history, node, user, { platform = 'Web' } = {}) {
    const c = new RecordedClient(history, node, user, platform);
    await c.start();
    return c;
  }

  constructor(history, node, user, platform) {
    this.history = history;
    this.node = node.name;
    this.url = node.url;
    this.user = user;
    this.platform = platform;
    this.id = history.clients.length;
    history.clients.push(this);
    this.online = false;
    this.code = undefined;
  }

  #record(kind, extra = {}) {
    this.history.add({ client: this.id, user: this.user, node: this.node, kind, ...extra });
  }

  async start() {
    try {
      this.client = await Client.connect(this.url);
    } catch (e) {
      this.code = 'connect';
      this.#record('answer', { code: 'connect' });
      return;
    }
    const loginSeq = this.client.seq + 1;
    // Frames in the order they arrived: the login's answer starts the
    // instance's time online, its first kick or not-ready ends it.
    this.client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (!frame.event) {
        if (frame.seq !== loginSeq) return;
        this.code = frame.code;
        this.instanceID = frame.data?.instanceID;
        this.#record('answer', { code: frame.code, instanceID: this.instanceID });
        this.online = frame.code === 0 && !this.ended;
        return;
      }
      if (frame.event === 'kickedOut' || frame.event === 'sdkStateNotReady') {
        if (this.online && !this.suspended) this.#record('offline', { why: frame.event, data: frame.data });
        this.online = false;
        this.ended = true;
      } else if (frame.event === 'sdkStateReady') {
        this.#record('ready');
      }
    });
    this.client.ws.on('close', () => {
      if (this.online && !this.suspended) this.#record('offline', { why: 'closed' });
      this.online = false;
      this.ended = true;
    });
    this.#record('request');
    try {
      await this.client.request('login', { SDKAppID: APP, userID: this.user, userSig: sig(this.user), platform: this.platform }, 30000);
    } catch (e) {
      this.code = 'timeout';
      this.#record('answer', { code: 'timeout' });
    }
  }

  request(op, data, timeoutMs) { return this.client.request(op, data, timeoutMs); }

  close() {
    if (this.online && !this.suspended) this.#record('offline', { why: 'closed by the test' });
    this.online = false;
    this.client?.close();
  }
}

// The most instances of one user online at once over the whole history, per
// user (Web only: the limit under test is max_web_instances). An instance
// is online from its login's answer (code 0) to its first kick, not-ready
// or close as its client saw them. `skewMs` forgives the order in which one
// process reads two sockets written within that time of each other.
export function maxOnline(history, { skewMs = 25 } = {}) {
  const byUser = new Map();
  for (const e of history.entries) {
    if (e.kind !== 'answer' && e.kind !== 'offline') continue;
    if (e.kind === 'answer' && e.code !== 0) continue;
    if (!byUser.has(e.user)) byUser.set(e.user, []);
    byUser.get(e.user).push(e);
  }
  const worst = new Map();
  for (const [user, events] of byUser) {
    // Each interval's end moves back by the skew (a kick read late).
    const points = events.map((e) => ({ t: e.kind === 'answer' ? e.t : e.t - skewMs, d: e.kind === 'answer' ? 1 : -1, e }));
    points.sort((x, y) => x.t - y.t || x.d - y.d);
    let now = 0; let most = 0; let at = null;
    for (const p of points) {
      now += p.d;
      if (now > most) { most = now; at = p.e; }
    }
    worst.set(user, { most, at });
  }
  return worst;
}

// Fails with the users whose limit (1) was exceeded, naming when.
export function assertRuleHeld(history, limit = 1) {
  const broken = [...maxOnline(history)].filter(([, w]) => w.most > limit);
  if (broken.length === 0) return;
  const lines = broken.slice(0, 2).map(([user, w]) => {
    const near = history.entries.filter((e) => e.user === user && Math.abs(e.t - w.at.t) < 6000)
      .map((e) => `  ${e.t.toFixed(0)} c${e.client}@${e.node} ${e.kind} ${e.code ?? ''} ${e.why ?? ''} ${e.instanceID ?? ''}`);
    for (const f of history.faults ?? []) if (Math.abs(f.t - w.at.t) < 6000) near.push(`  ${f.t.toFixed(0)} nemesis: ${f.what}`);
    near.sort((a, b) => parseFloat(a) - parseFloat(b));
    return `${user}: ${w.most} online at ${w.at.t.toFixed(0)}\n${near.join('\n')}`;
  });
  throw new Error(`the rule was exceeded for ${broken.length} users:\n${lines.join('\n')}`);
}

// Every login was answered: 0, or a documented refusal (60022 retry), or
// 70500 (a node lost mid-request); never a timeout.
export function assertAllAnswered(history, allowed = [0, 60022, 70500, 70052]) {
  const bad = history.entries.filter((e) => e.kind === 'answer' && !allowed.includes(e.code));
  if (bad.length) throw new Error(`logins not answered as documented: ${JSON.stringify(bad.slice(0, 5))}`);
}

// --- A random storm -------------------------------------------------------

// A small seeded generator (mulberry32): a failing run can be replayed.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// `seconds` of random faults (cuts, one-way losses, delays, freezes of up to
// 1.5 s, a node's PostgreSQL lost, heals) while workers log `users` hot
// users in from random nodes, send messages between them and kick them over
// REST. Then everything heals and the history is checked: the rule never
// exceeded, every login answered, every acknowledged message on its
// recipient's timeline exactly once, and every node's online query equal to
// what the clients believe. Resolves with counts; throws on any breach.
export async function runStorm(net, { seconds = 30, users: userCount = 5, seed = 1, log = () => {} } = {}) {
  const rand = generator(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const history = new History();
  history.faults = net.log;
  net.history = history;
  const users = Array.from({ length: userCount }, (_, i) => `hot${seed}_${i}`);
  const names = net.nodes.map((n) => n.name);
  const acknowledged = [];
  let sent = 0;
  const endAt = Date.now() + seconds * 1000;
  const faults = (async () => {
    while (Date.now() < endAt) {
      const r = rand();
      const a = pick(names);
      const b = pick(names.filter((n) => n !== a));
      if (r < 0.2) net.cut(a, b);
      else if (r < 0.4) net.cutOneWay(a, b);
      else if (r < 0.45) net.delay(a, b, 50 + Math.floor(rand() * 300));
      else if (r < 0.55 && net.frozen.size === 0) {
        net.freeze(a);
        await sleep(300 + rand() * 1200);
        net.thaw(a);
      } else if (r < 0.65) net.cutPostgres(a);
      else if (r < 0.85) net.healAll();
      await sleep(200 + rand() * 800);
    }
    net.healAll();
  })();
  const logins = async () => {
    while (Date.now() < endAt) {
      const c = await RecordedClient.login(history, net.node(pick(names)), pick(users));
      if (c.code !== 0) c.close();
      await sleep(rand() * 100);
    }
  };
  const messages = async () => {
    while (Date.now() < endAt) {
      const from = pick(history.clients.filter((c) => c.online && !c.suspended));
      if (from) {
        const to = pick(users.filter((u) => u !== from.user));
        const text = `m${++sent} ${from.user}>${to}`;
        const r = await from.request('sendMessage', { to, text, clientMsgID: `c${seed}-${sent}` }, 30000).catch(() => null);
        if (r?.code === 0) acknowledged.push({ to, text });
      }
      await sleep(20 + rand() * 60);
    }
  };
  const kicks = async () => {
    while (Date.now() < endAt) {
      await sleep(1000 + rand() * 2000);
      await net.node(pick(names)).rest('im_open_login_svc/kick', { UserID: pick(users) }).catch(() => null);
    }
  };
  await Promise.all([faults, logins(), logins(), logins(), messages(), kicks()]);
  // Healed: what was held back (grants waiting for fencing, claims) settles.
  await sleep(6000);
  assertRuleHeld(history);
  assertAllAnswered(history);
  await assertMessagesOnce(net, users, acknowledged);
  await assertOnlineEqualsBelief(net, history, users);
  const report = {
    seed, seconds, logins: history.clients.length,
    admitted: history.clients.filter((c) => c.code === 0).length,
    refused: history.clients.filter((c) => c.code === 60022).length,
    failed: history.clients.filter((c) => c.code === 70500).length,
    acknowledged: acknowledged.length, faults: net.log.length,
  };
  log(report);
  for (const c of history.clients) c.close();
  net.history = undefined;
  return report;
}

async function queryOnline(node, user) {
  const r = await node.rest('openim/query_online_status', { To_Account: [user], IsNeedDetail: 1 });
  if (r.body.ErrorCode !== 0) throw new Error(JSON.stringify(r.body));
  return (r.body.QueryResult[0].Detail ?? []).map((d) => d.InstanceID).sort();
}

async function assertOnlineEqualsBelief(net, history, users, timeoutMs = 15000) {
  for (const user of users) {
    const want = () => history.clients.filter((c) => c.user === user && c.online).map((c) => c.instanceID).sort();
    for (const node of net.nodes) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await queryOnline(node, user).catch((e) => e.message);
        if (JSON.stringify(got) === JSON.stringify(want())) break;
        if (Date.now() > deadline)
          throw new Error(`${user} on ${node.name}: online ${JSON.stringify(got)}, clients believe ${JSON.stringify(want())}`);
        await sleep(200);
      }
    }
  }
}

// Each acknowledged message is on its recipient's timeline exactly once
// (and no message is there twice), read by a fresh login that syncs all.
async function assertMessagesOnce(net, users, acknowledged) {
  for (const user of users) {
    const reader = await Client.connect(net.nodes[0].url);
    const r = await reader.request('login', { SDKAppID: APP, userID: user, userSig: sig(user), platform: 'Android', syncFromSeq: 0 }, 30000);
    if (r.code !== 0) throw new Error(`sync login of ${user}: ${JSON.stringify(r)}`);
    let count = -1;
    for (;;) {
      await sleep(500);
      const now = reader.events.filter((e) => e.event === 'messageReceived').length;
      if (now === count) break;
      count = now;
    }
    const texts = reader.events.filter((e) => e.event === 'messageReceived').map((e) => e.data.text);
    reader.close();
    const seen = new Map();
    for (const t of texts) seen.set(t, (seen.get(t) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1);
    if (twice.length) throw new Error(`${user}: delivered twice: ${JSON.stringify(twice.slice(0, 5))}`);
    const missing = acknowledged.filter((m) => m.to === user && !seen.has(m.text));
    if (missing.length) throw new Error(`${user}: acknowledged but not on the timeline: ${JSON.stringify(missing.slice(0, 5))}`);
  }
}

export { sleep };
