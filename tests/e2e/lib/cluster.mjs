// PostgreSQL databases and a chatd cluster for tests: N nodes on 127.0.0.1 on one PostgreSQL
// database, and the node that settles as the owner of a user's shard, computed as chatd does
// (actors/shard_leases.cpp), so that a test can pick users whose registry lives on a given node.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startChatd, appConfig, sleep, freePort, APP } from './chatd.mjs';

export function adminUrl() {
  return readFileSync(process.env.CHATD_TEST_POSTGRES_STATE, 'utf8').trim().split(' ')[0];
}

export function freshDatabase(prefix = 'chatd_cluster') {
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  execFileSync('psql', [adminUrl(), '-q', '-c', `CREATE DATABASE ${name}`]);
  return adminUrl().replace(/\/[^/]*$/, `/${name}`);
}

// Starts `count` nodes n1..nN that name each other as peers, and waits
// until every node sees them all. A cluster port taken between freePort()
// and chatd's bind (another process's port 0) is retried with new ports.
export async function startCluster(count, { app = {}, cluster = {}, url = freshDatabase() } = {}) {
  for (let attempt = 1; ; ++attempt) {
    const ports = [];
    for (let i = 0; i < count; ++i) ports.push(await freePort());
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    const starts = addresses.map((listen, i) => startChatd({
      apps: [appConfig(app)],
      store: { backend: 'postgres', postgres_url: url },
      cluster: {
        node: `n${i + 1}`, listen, peers: addresses.filter((a) => a !== listen),
        heartbeat_interval_ms: 200, connection_timeout_ms: 1000, ...cluster,
      },
    }));
    const results = await Promise.allSettled(starts);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop()));
      if (attempt < 3 && /cannot listen/.test(failed.reason.message)) continue;
      throw failed.reason;
    }
    const nodes = results.map((r) => r.value);
    nodes.forEach((n, i) => { n.name = `n${i + 1}`; });
    await waitForMembers(nodes, count);
    await waitForShards(nodes);
    return nodes;
  }
}

// The value of a metric series on one node (0 if absent).
export async function metric(node, name, labels = {}) {
  // A kept-alive connection the server closed meanwhile fails once: ask again.
  const scrape = () => fetch(`http://${node.metrics}/metrics`).then((r) => r.text());
  const text = await scrape().catch(() => sleep(50).then(scrape));
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + ' ') && !line.startsWith(name + '{')) continue;
    if (want.every((w) => line.includes(w))) return Number(line.split(' ').pop());
  }
  return 0;
}

export async function waitForMembers(nodes, count, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await Promise.all(nodes.map((n) => metric(n, 'chatd_cluster_members')));
    if (seen.every((s) => s === count)) return;
    if (Date.now() > deadline) throw new Error(`cluster members ${seen} (want ${count} each)`);
    await sleep(50);
  }
}

// --- Shards and their owners, as actors/shard_leases.cpp ---
const MASK = (1n << 64n) - 1n;
export const SHARD_COUNT = 1024;

function fnv1a(hash, bytes) {
  for (const b of bytes) hash = ((hash ^ BigInt(b)) * 1099511628211n) & MASK;
  return hash;
}

function mix(x) {
  x = (x + 0x9e3779b97f4a7c15n) & MASK;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return x ^ (x >> 31n);
}

const enc = (s) => Buffer.from(s, 'utf8');

export function shardOfUser(user, sdkappid = APP) {
  const h = fnv1a(fnv1a(14695981039346656037n, enc(String(sdkappid))), [0]);
  return Number(mix(fnv1a(h, enc(user))) % BigInt(SHARD_COUNT));
}

export function shardScore(node, shard) {
  const h = fnv1a(fnv1a(14695981039346656037n, enc(node)), [0]);
  return mix(fnv1a(h, enc(String(shard))));
}

// The node that holds the lease on the user's shard once `members` have
// settled (the live node with the highest score for the shard).
export function ownerOf(members, user, sdkappid = APP) {
  const shard = shardOfUser(user, sdkappid);
  let best;
  let bestScore = -1n;
  for (const m of members) {
    const s = shardScore(m, shard);
    if (s > bestScore || (s === bestScore && m < best)) { best = m; bestScore = s; }
  }
  return best;
}

// `count` user IDs with `prefix` whose owner among `members` is `node`.
export function usersOwnedBy(node, members, count, prefix = 'u') {
  const users = [];
  for (let i = 0; users.length < count; ++i)
    if (ownerOf(members, `${prefix}${i}`) === node) users.push(`${prefix}${i}`);
  return users;
}

// Waits until every node admits logins for the shards it should own
// (each holds and has opened its share: chatd_cluster_shards_open).
export async function waitForShards(nodes, timeoutMs = 20000) {
  const names = nodes.map((n) => n.name);
  const want = names.map((name) => {
    let count = 0;
    for (let s = 0; s < SHARD_COUNT; ++s) {
      let best; let bestScore = -1n;
      for (const m of names) {
        const sc = shardScore(m, s);
        if (sc > bestScore) { best = m; bestScore = sc; }
      }
      if (best === name) ++count;
    }
    return count;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await Promise.all(nodes.map((n) => metric(n, 'chatd_cluster_shards_open')));
    if (open.every((o, i) => o === want[i])) return;
    if (Date.now() > deadline) throw new Error(`shards open ${open} (want ${want})`);
    await sleep(50);
  }
}
