// chatd as a cluster (docs/CLUSTER.md): 3 nodes over CAF's middleman on one
// PostgreSQL database (the CTest fixture's). The rule is global, REST acts
// cluster-wide, a lost node's sessions and registries are taken over, and a
// node without a majority refuses logins. Users are picked by the node that
// owns their registry (the rendezvous hash, tests/e2e/lib/cluster.mjs), so
// that every case crosses nodes on purpose.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Client, sig, sleep, stopAll, startChatd } from './lib/chatd.mjs';
import { startPrometheus, query, waitForScrapes, panelQueries, CONFIGS } from './lib/prometheus.mjs';
import { startCluster, freshDatabase, usersOwnedBy, ownerOf, shardOfUser, shardScore, metric, waitForMembers, waitForShards } from './lib/cluster.mjs';

const servers = [];
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopAll(servers);
});
const MEMBERS = ['n1', 'n2', 'n3'];

async function cluster(options) {
  await stopAll(servers.splice(0));  // the previous test's nodes
  const nodes = await startCluster(3, options);
  servers.push(...nodes);
  return nodes;
}

async function loggedIn(node, user, options) {
  const c = await Client.connect(node.url);
  const r = await c.login(user, options);
  assert.equal(r.code, 0, JSON.stringify(r));
  c.instanceID = r.data.instanceID;
  return c;
}

async function assertKicked(c, type, by) {
  const kicked = await c.waitEvent('kickedOut', 5000);
  assert.equal(kicked.data.type, type);
  if (by) assert.deepEqual(kicked.data.by, { platform: by.platform, instanceID: by.instanceID });
  await c.waitEvent('sdkStateNotReady', 5000);
  const names = c.eventNames();
  assert.deepEqual(names.slice(names.indexOf('kickedOut')), ['kickedOut', 'sdkStateNotReady']);
}

async function onlineIDs(node, user) {
  const r = await node.rest('openim/query_online_status', { To_Account: [user], IsNeedDetail: 1 });
  assert.equal(r.body.ErrorCode, 0, JSON.stringify(r.body));
  assert.equal(r.body.QueryResult?.length, 1, JSON.stringify(r.body));
  return (r.body.QueryResult[0].Detail ?? []).map((d) => d.InstanceID).sort();
}

async function eventually(check, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { return await check(); } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${e.message}`);
      await sleep(25);
    }
  }
}

test('the shard hash of the tests is chatd\'s (vectors shared with the unit test)', () => {
  assert.equal(shardOfUser('alice', 1400000000), 248);
  assert.equal(shardScore('n1', 7), 0x4f8bdb2b11be9dbcn);
  assert.equal(ownerOf(MEMBERS, 'alice'), ownerOf(['n3', 'n2', 'n1'], 'alice'));
});

test('3 nodes: the rule is global: kicks of each type cross nodes, REST acts on every node', async () => {
  const [n1, n2, n3] = await cluster({ app: { multi_device_policy: 'dual' } });
  // multipleAccount: Web on n1, then Web on n2; the registry lives on n3.
  const [alice] = usersOwnedBy('n3', MEMBERS, 1, 'alice');
  const a1 = await loggedIn(n1, alice);
  const a2 = await loggedIn(n2, alice);
  await assertKicked(a1, 'multipleAccount', { platform: 'Web', instanceID: a2.instanceID });
  assert.deepEqual(await onlineIDs(n3, alice), [a2.instanceID]);

  // multipleDevice: iOS on n2 then Android on n1 (dual: one mobile), registry on n1.
  const [bob] = usersOwnedBy('n1', MEMBERS, 1, 'bob');
  const b1 = await loggedIn(n2, bob, { platform: 'iPhone' });
  const b2 = await loggedIn(n1, bob, { platform: 'Android' });
  await assertKicked(b1, 'multipleDevice', { platform: 'Android', instanceID: b2.instanceID });

  // userSigExpired: the session on n1 keeps the deadline, its registry on n2 kicks.
  const [carol] = usersOwnedBy('n2', MEMBERS, 1, 'carol');
  const c1 = await loggedIn(n1, carol, { userSig: sig(carol, { expire: 2 }) });
  await assertKicked(c1, 'userSigExpired');
  await eventually(async () => assert.deepEqual(await onlineIDs(n3, carol), []), 'carol offline', 1000);

  // renewUserSig on n3, registry on n1: the new deadline reaches the session
  // actor on n3, and the old one passes without a kick.
  const [gina] = usersOwnedBy('n1', MEMBERS, 1, 'gina');
  const g1 = await loggedIn(n3, gina, { userSig: sig(gina, { expire: 2 }) });
  assert.equal((await g1.request('renewUserSig', { userSig: sig(gina, { expire: 600 }) })).code, 0);
  await sleep(3200);
  assert.ok(!g1.eventNames().includes('kickedOut'), 'renewed across nodes');
  assert.deepEqual(await onlineIDs(n2, gina), [g1.instanceID]);
  g1.close();

  // REST_API_Kick from n3 reaches instances on n1 and n2 (registry on n1).
  const [dave] = usersOwnedBy('n1', MEMBERS, 1, 'dave');
  const d1 = await loggedIn(n2, dave, { platform: 'Web' });
  const d2 = await loggedIn(n3, dave, { platform: 'iPhone' });
  assert.deepEqual(await onlineIDs(n3, dave), [d1.instanceID, d2.instanceID].sort());
  assert.deepEqual(await onlineIDs(n2, dave), await onlineIDs(n1, dave));
  const kick = await n3.rest('im_open_login_svc/kick', { UserID: dave });
  assert.equal(kick.body.ErrorCode, 0);
  await assertKicked(d1, 'REST_API_Kick');
  await assertKicked(d2, 'REST_API_Kick');
  // Offline, and known on n1 once the account the login made there has
  // reached n1's cache (PostgreSQL's notification, well under a second).
  await eventually(async () => assert.deepEqual(await onlineIDs(n1, dave), []), 'dave offline', 1000);

  // A logout on n2 of a user owned by n3 takes the instance offline everywhere.
  const [erin] = usersOwnedBy('n3', MEMBERS, 1, 'erin');
  const e1 = await loggedIn(n2, erin);
  assert.equal((await e1.request('logout')).code, 0);
  await eventually(async () => assert.deepEqual(await onlineIDs(n1, erin), []), 'erin offline', 1000);

  // set_login_config on n1: applied by the next login on n2 and n3 within 1 s.
  assert.equal((await n1.rest('chatd_admin/set_login_config', { MaxWebInstances: 2 })).body.ErrorCode, 0);
  const changedAt = Date.now();
  for (const node of [n2, n3])
    await eventually(async () => assert.equal((await node.rest('chatd_admin/get_login_config')).body.MaxWebInstances, 2), 'config');
  assert.ok(Date.now() - changedAt < 1000, `config seen on all nodes in ${Date.now() - changedAt} ms`);
  const [frank] = usersOwnedBy('n1', MEMBERS, 1, 'frank');
  const f1 = await loggedIn(n2, frank);
  const f2 = await loggedIn(n3, frank);
  await sleep(200);
  assert.ok(!f1.eventNames().includes('kickedOut'), 'MaxWebInstances 2 holds across nodes');
  for (const c of [a1, a2, b1, b2, c1, d1, d2, e1, f1, f2]) c.close();
});

test('3 nodes: messages reach the recipient on another node, in timeline order', async () => {
  const [n1, n2, n3] = await cluster();
  const [alice] = usersOwnedBy('n2', MEMBERS, 1, 'alice');
  const [bob] = usersOwnedBy('n3', MEMBERS, 1, 'bob');
  const a = await loggedIn(n1, alice);
  const b = await loggedIn(n2, bob);
  const bOther = await loggedIn(n1, bob, { platform: 'iPhone' });
  for (let i = 1; i <= 5; ++i)
    assert.equal((await a.request('sendMessage', { to: bob, text: `hi ${i}` })).code, 0);
  for (const c of [b, bOther]) {
    await eventually(async () => assert.equal(c.events.filter((e) => e.event === 'messageReceived').length, 5), 'messages');
    const got = c.events.filter((e) => e.event === 'messageReceived').map((e) => [e.data.text, e.data.seq]);
    assert.deepEqual(got, [1, 2, 3, 4, 5].map((i) => [`hi ${i}`, i]));
  }
  // The sender's other instance (on n3) gets its own copy of what it sent.
  const aOther = await loggedIn(n3, alice, { platform: 'Android' });
  assert.equal((await a.request('sendMessage', { to: bob, text: 'copy' })).code, 0);
  const copy = await aOther.waitEvent('messageReceived', 5000);
  assert.equal(copy.data.text, 'copy');
  // A custom message and an online-only one cross nodes whole.
  const card = { data: '{"card":1}', description: 'd', extension: 'e' };
  assert.equal((await a.request('sendMessage', { to: bob, custom: card })).code, 0);
  assert.equal((await a.request('sendMessage', { to: bob, custom: { data: 'typing' }, onlineOnly: true })).code, 0);
  for (const c of [b, bOther]) {
    await eventually(async () => assert.equal(c.events.filter((e) => e.event === 'messageReceived').length, 8), 'custom messages');
    const [stored, online] = c.events.filter((e) => e.event === 'messageReceived').slice(6).map((e) => e.data);
    assert.deepEqual([stored.custom, stored.seq, stored.onlineOnly], [card, 7, undefined]);
    assert.deepEqual([online.custom.data, online.seq, online.onlineOnly], ['typing', 0, true]);
  }
  // A profile read on one node (and so kept in its memory) is read anew
  // there within a second of a change made on another node.
  const nickOnN2 = async () => {
    const r = await b.request('getUserProfile', { userIDList: [alice] });
    assert.equal(r.code, 0, JSON.stringify(r));
    return r.data.profiles[0]?.profile.Tag_Profile_IM_Nick;
  };
  assert.equal((await a.request('updateMyProfile', { profile: { Tag_Profile_IM_Nick: 'Alice 1' } })).code, 0);
  await eventually(async () => assert.equal(await nickOnN2(), 'Alice 1'), 'the first nick on n2');
  assert.equal((await a.request('updateMyProfile', { profile: { Tag_Profile_IM_Nick: 'Alice 2' } })).code, 0);
  const changed = Date.now();
  await eventually(async () => assert.equal(await nickOnN2(), 'Alice 2'), 'the changed nick on n2', 1000);
  assert.ok(Date.now() - changed < 1000);
  for (const c of [a, b, bOther, aOther]) c.close();
});

test('3 nodes: 50 concurrent logins of one user over the nodes, limit 2, 200 rounds: exactly 2 stay', async () => {
  const nodes = await cluster({ app: { max_web_instances: 2 } });
  const counts = { rounds: 0 };
  for (let round = 0; round < 200; ++round) {
    const user = `race${round}`;
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => Client.connect(nodes[i % 3].url)));
    const answers = await Promise.all(clients.map((c) => c.login(user)));
    assert.ok(answers.every((r) => r.code === 0), JSON.stringify(answers.find((r) => r.code !== 0)));
    await eventually(async () => {
      const kicked = clients.filter((c) => c.eventNames().includes('kickedOut'));
      assert.equal(kicked.length, 48, `round ${round}: ${kicked.length} kicked`);
    }, `round ${round}`);
    const survivors = clients.filter((c) => !c.eventNames().includes('kickedOut'));
    const ids = survivors.map((c) => answers[clients.indexOf(c)].data.instanceID).sort();
    assert.deepEqual(await onlineIDs(nodes[round % 3], user), ids);
    for (const c of clients) {
      const kicks = c.eventNames().filter((n) => n === 'kickedOut').length;
      assert.ok(kicks <= 1, 'one kickedOut per loser');
      c.close();
    }
    ++counts.rounds;
  }
  assert.equal(counts.rounds, 200);
});

test('3 nodes: kill -9 of the owner node during logins: the rule holds after re-ownership', async () => {
  const [n1, n2, n3] = await cluster({ app: { max_web_instances: 2 } });
  const users = usersOwnedBy('n3', MEMBERS, 10, 'k');
  const clients = new Map(users.map((u) => [u, []]));
  const connectAndLogin = async (node, user) => {
    const c = await Client.connect(node.url);
    const r = await c.login(user);
    c.code = r.code;
    c.instanceID = r.data?.instanceID;
    clients.get(user).push(c);
  };
  for (const user of users) {
    await connectAndLogin(n1, user);
    await connectAndLogin(n2, user);
  }
  // Logins keep coming while n3 dies.
  const storm = (async () => {
    for (let i = 0; i < 30; ++i) {
      await Promise.all(users.map((u, j) => connectAndLogin((i + j) % 2 ? n1 : n2, u)));
      await sleep(20);
    }
  })();
  await sleep(100);
  await n3.stop('SIGKILL');
  await storm;
  await waitForMembers([n1, n2], 2);
  await sleep(300);
  for (const user of users) {
    const live = clients.get(user).filter((c) => c.code === 0 && !c.eventNames().includes('kickedOut'));
    assert.ok(live.length <= 2, `${user}: ${live.length} online`);
    const expected = live.map((c) => c.instanceID).sort();
    await eventually(async () => assert.deepEqual(await onlineIDs(n1, user), expected), `${user} online`).catch((e) => { console.log(n1.stderr().slice(-3000)); throw e; });
    assert.deepEqual(await onlineIDs(n2, user), expected);
    // Every refused login got a clear code, never a hang.
    for (const c of clients.get(user)) assert.ok([0, 60022, 70500].includes(c.code), `code ${c.code}`);
  }
  // And the next login follows the rule at the new owner: with 2 online,
  // exactly one of them (the older) is kicked.
  const before = clients.get(users[0]).filter((c) => c.code === 0 && !c.eventNames().includes('kickedOut'));
  const next = await loggedIn(n1, users[0]);
  if (before.length === 2)
    await eventually(async () => assert.equal(before.filter((c) => c.eventNames().includes('kickedOut')).length, 1), 'one kicked');
  assert.ok((await onlineIDs(n2, users[0])).includes(next.instanceID));
  assert.ok(await metric(n1, 'chatd_cluster_reowned_instances_total') > 0);
  for (const list of clients.values()) for (const c of list) c.close();
  next.close();
});

// How long an owner counts an instance on a node it lost contact with (that
// node fences it by then; cluster_fence_time in actors/cluster_node.cpp):
// connection timeout + lease + 2 margins + 2 renew intervals, at the test settings.
const FENCE_MS = 1000 + 2000 + 2 * 500 + 2 * 400;

test('3 nodes: kill -9 of a gateway node: its instances leave the online query after the fence time, its acknowledged messages stay', async () => {
  const [n1, n2, n3] = await cluster();
  const users = usersOwnedBy('n1', MEMBERS, 5, 'g');
  const onN2 = [];
  for (const user of users) onN2.push(await loggedIn(n2, user));
  const onN3 = await loggedIn(n3, users[0], { platform: 'iPhone' });
  // Seen online from n1 first.
  for (const [i, user] of users.entries()) {
    const expected = [onN2[i].instanceID, ...(i === 0 ? [onN3.instanceID] : [])].sort();
    await eventually(async () => assert.deepEqual(await onlineIDs(n1, user), expected), `${user} online`).catch((e) => { console.log(n1.stderr().slice(-3000)); throw e; });
  }
  // Messages acknowledged on n2 just before it dies.
  for (let i = 1; i <= 3; ++i)
    assert.equal((await onN2[1].request('sendMessage', { to: users[2], text: `before the kill ${i}` })).code, 0);
  // The accounts these first logins made are written in the store's next
  // batch (every 200 ms, docs/CLUSTER.md): let it land before the kill.
  await sleep(400);
  await n2.stop('SIGKILL');
  const killedAt = Date.now();
  // Counted until n2 could have fenced them (a partition looks the same as a kill).
  await sleep(FENCE_MS - 1500);
  assert.equal((await onlineIDs(n1, users[1])).length, 1, 'still counted within the fence time');
  for (const user of users)
    await eventually(async () => {
      const ids = await onlineIDs(n1, user);
      assert.deepEqual(ids, user === users[0] ? [onN3.instanceID] : []);
    }, `${user} offline`, 4000);
  assert.ok(Date.now() - killedAt < FENCE_MS + 3000);
  assert.equal((await onN3.request('isReady')).data.ready, true, 'the instance on n3 is untouched');
  // Nothing acknowledged is lost: the recipient syncs them on another node.
  const again = await Client.connect(n3.url);
  const r = await again.request('login', { SDKAppID: 1400000000, userID: users[2], userSig: sig(users[2]), syncFromSeq: 0 });
  assert.equal(r.code, 0);
  await eventually(async () => assert.equal(again.events.filter((e) => e.event === 'messageReceived').length, 3), 'synced');
  assert.deepEqual(again.events.filter((e) => e.event === 'messageReceived').map((e) => e.data.text),
    [1, 2, 3].map((i) => `before the kill ${i}`));
  again.close();
  onN3.close();
  for (const c of onN2) c.close();
});

test('3 nodes: SIGTERM of a node hands its users to the others; a node left alone takes every shard once the leases expire', async () => {
  const [n1, n2, n3] = await cluster();
  const users = usersOwnedBy('n3', MEMBERS, 5, 's');
  const first = [];
  for (const user of users) first.push(await loggedIn(n1, user));
  await n3.stop('SIGTERM');
  await waitForMembers([n1, n2], 2);
  await waitForShards([n1, n2]);
  // Their registries moved: the online query (from n2) still sees them, and
  // the rule applies at the new owner (limit 1: a second Web login kicks).
  for (const [i, user] of users.entries()) {
    assert.deepEqual(await onlineIDs(n2, user), [first[i].instanceID]);
    const second = await loggedIn(n2, user);
    await assertKicked(first[i], 'multipleAccount', { platform: 'Web', instanceID: second.instanceID });
    second.close();
  }
  // n2 killed: who owns what is the lease table's, not a count of peers:
  // n1 takes n2's shards once their leases expire, and admits their users.
  const [keeper] = usersOwnedBy('n1', ['n1', 'n2'], 1, 'keeper');
  const kept = await loggedIn(n1, keeper);
  await n2.stop('SIGKILL');
  await waitForMembers([n1], 1);
  await waitForShards([n1]);
  const [orphan] = usersOwnedBy('n2', ['n1', 'n2'], 1, 'newcomer');
  const newcomer = await loggedIn(n1, orphan);
  assert.equal((await kept.request('isReady')).data.ready, true);
  assert.equal(await metric(n1, 'chatd_cluster_shards_open'), 1024);
  for (const c of [...first, kept, newcomer]) c.close();
});

test('3 nodes under a real Prometheus: every panel of the dashboard\'s Cluster row has series', async () => {
  const nodes = await cluster();
  const [n1, n2, n3] = nodes;
  const prom = await startPrometheus(nodes.map((n) => n.metrics), cleanups);
  await waitForScrapes(prom, 3);
  // Cross-node traffic, then n3 drains: its users' instances move.
  const users = usersOwnedBy('n3', MEMBERS, 4, 'p');
  const clients = [];
  for (const user of users) clients.push(await loggedIn(n1, user), await loggedIn(n2, user, { platform: 'iPhone' }));
  await onlineIDs(n2, users[0]);
  await n3.stop('SIGTERM');
  await waitForMembers([n1, n2], 2);
  await waitForScrapes(prom, 8);
  const dashboard = JSON.parse(readFileSync(join(CONFIGS, 'grafana/chatd-session-health.json'), 'utf8'));
  const queries = panelQueries(dashboard, (p) => p.title.startsWith('Cluster'));
  assert.ok(queries.length >= 6, `${queries.length} cluster queries`);
  const empty = [];
  for (const { panel, expr } of queries) {
    const result = await query(prom, expr);
    if (result.length === 0 || result.every((x) => Number.isNaN(Number(x.value[1])))) empty.push(`${panel}: ${expr}`);
  }
  assert.deepEqual(empty, [], 'cluster panel queries without series');
  // The numbers are right, not merely present.
  const members = await query(prom, `chatd_cluster_members{instance="${n1.metrics}"}`);
  assert.equal(Number(members[0].value[1]), 2);
  const reowned = await query(prom, 'sum(chatd_cluster_reowned_instances_total)');
  assert.equal(Number(reowned[0].value[1]), 2 * users.length, 'each live instance of n3\'s users moved once');
  const logins = await query(prom, 'sum(chatd_cluster_requests_total{op="login",result="ok"})');
  assert.ok(Number(logins[0].value[1]) >= 2 * users.length);
  for (const c of clients) c.close();
});

test('3 nodes: a frozen node is lost by heartbeat, counted until it could have fenced, and when it wakes its instances end', async () => {
  const [n1, n2, n3] = await cluster();
  const [user] = usersOwnedBy('n1', MEMBERS, 1, 'frozen');
  const old = await loggedIn(n2, user);
  await eventually(async () => assert.deepEqual(await onlineIDs(n1, user), [old.instanceID]), 'online');
  await sleep(400);  // the account the first login made is stored (its batch)
  process.kill(n2.pid, 'SIGSTOP');
  const frozenAt = Date.now();
  try {
    // No socket closed: only the missing heartbeats tell n1 and n3; n1
    // counts it until n2 could have fenced it.
    await waitForMembers([n1, n3], 2);
    assert.deepEqual(await onlineIDs(n1, user), [old.instanceID], 'counted within the fence time');
    await eventually(async () => assert.deepEqual(await onlineIDs(n1, user), []), 'forgotten', FENCE_MS + 2000);
    assert.ok(Date.now() - frozenAt >= FENCE_MS, 'not forgotten before the fence time');
    // Meanwhile the user logs in on n3: nothing to kick, the old one is not counted.
    var newer = await loggedIn(n3, user);
  } finally {
    process.kill(n2.pid, 'SIGCONT');
  }
  // n2 wakes, knows it was paused past the timeout, and ends its instance
  // at once rather than run beside the newer one.
  const lost = await old.waitEvent('sdkStateNotReady', 3000);
  assert.equal(lost.data.reason, 70500, JSON.stringify(lost));
  await waitForMembers([n1, n2, n3], 3);
  assert.deepEqual(await onlineIDs(n2, user), [newer.instanceID]);
  assert.ok(!newer.eventNames().includes('kickedOut'));
  old.close();
  newer.close();
});

test('a cluster port another process holds: chatd exits at once with a clear error', async () => {
  const holder = createServer();
  await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const listen = `127.0.0.1:${holder.address().port}`;
  try {
    await assert.rejects(startChatd({
      store: { backend: 'postgres', postgres_url: freshDatabase() },
      cluster: { node: 'n1', listen, peers: [] },
    }), /cluster\.listen 127\.0\.0\.1:\d+: cannot listen: /);
  } finally {
    holder.close();
  }
});
