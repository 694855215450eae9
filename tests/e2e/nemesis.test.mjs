// The max-instances rule of a cluster under partitions (docs/CLUSTER.md,
// "What holds"): 3 nodes whose every cluster link and every way to
// PostgreSQL goes through a proxy of ours (lib/nemesis.mjs). Each scenario
// checks the whole history its clients saw (every login answer, kick and
// not-ready, with times), not only the end state: with max_web_instances =
// 1, no user ever has two instances that both believe they are online.
// The long random run is bench/nemesis.sh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './lib/chatd.mjs';
import { usersOwnedBy, metric } from './lib/cluster.mjs';
import { startNemesisCluster, History, RecordedClient, assertRuleHeld, assertAllAnswered, runStorm } from './lib/nemesis.mjs';

const MEMBERS = ['n1', 'n2', 'n3'];
// cluster_fence_time at the test settings (lib/nemesis.mjs): connection
// timeout + lease + 2 margins + 2 renew intervals.
const FENCE_MS = 1000 + 2000 + 2 * 500 + 2 * 400;

let net;
after(async () => { if (net) await net.stop(); });

async function fresh() {
  if (net) await net.stop();
  net = await startNemesisCluster(3);
  return net;
}

async function onlineIDs(node, user) {
  const r = await node.rest('openim/query_online_status', { To_Account: [user], IsNeedDetail: 1 });
  assert.equal(r.body.ErrorCode, 0, JSON.stringify(r.body));
  return (r.body.QueryResult[0].Detail ?? []).map((d) => d.InstanceID).sort();
}

// The instances the clients of `user` believe online.
function believed(history, user) {
  return history.clients.filter((c) => c.user === user && c.online).map((c) => c.instanceID).sort();
}

async function eventually(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { return await check(); } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${e.message}`);
      await sleep(100);
    }
  }
}

// After healing: every node's online query is what the clients believe.
async function assertConverged(history, users, timeoutMs = FENCE_MS + 5000) {
  for (const user of users)
    for (const node of net.nodes)
      await eventually(async () => assert.deepEqual(await onlineIDs(node, user), believed(history, user)),
        `${user} on ${node.name}`, timeoutMs);
}

test('a non-transitive partition (n2-n3 cut, n1 sees both): the same users on n2 and n3 are never both online', async () => {
  await fresh();
  const [n1, n2, n3] = net.nodes;
  const history = new History();
  net.cut('n2', 'n3');
  await eventually(async () => {
    assert.equal(await metric(n2, 'chatd_cluster_members'), 2);
    assert.equal(await metric(n3, 'chatd_cluster_members'), 2);
  }, 'n2 and n3 lost each other', 5000);
  assert.equal(await metric(n1, 'chatd_cluster_members'), 3);
  const users = Array.from({ length: 40 }, (_, i) => `np${i}`);
  for (const user of users) await RecordedClient.login(history, n2, user);
  await Promise.all(users.map((user) => RecordedClient.login(history, n3, user)));
  await sleep(500);
  assertRuleHeld(history);
  assertAllAnswered(history, [0, 60022]);
  // Users whose owner is n1 were admitted on both sides, one after the other.
  const viaN1 = users.filter((u) => usersOwnedBy('n1', MEMBERS, 200, 'np').includes(u));
  assert.ok(viaN1.length > 5);
  for (const user of viaN1) assert.deepEqual(believed(history, user).length, 1, user);
  net.healAll();
  await assertConverged(history, users);
  assertRuleHeld(history);
  for (const c of history.clients) c.close();
});

test('one-way loss (nothing from n1 reaches n2): n1\'s kick is lost, the newcomer waits until n2 has fenced its instance', async () => {
  await fresh();
  const [, n2, n3] = net.nodes;
  const history = new History();
  const users = usersOwnedBy('n1', MEMBERS, 8, 'ow');
  for (const user of users) await RecordedClient.login(history, n2, user);
  net.cutOneWay('n1', 'n2');
  const started = performance.now();
  const newer = await Promise.all(users.map((user) => RecordedClient.login(history, n3, user)));
  for (const c of newer) assert.equal(c.code, 0);
  assertRuleHeld(history);
  assertAllAnswered(history, [0]);
  // Each older instance ended (fenced by n2: it cannot hear its owner).
  for (const c of history.clients.filter((x) => x.node === 'n2')) assert.equal(c.online, false);
  assert.ok(performance.now() - started < FENCE_MS + 3000);
  net.healAll();
  await assertConverged(history, users);
  for (const c of history.clients) c.close();
});

test('a node isolated from the others but not from PostgreSQL keeps its shards; no login elsewhere breaks the rule', async () => {
  await fresh();
  const [n1, n2, n3] = net.nodes;
  const history = new History();
  const owned = usersOwnedBy('n1', MEMBERS, 6, 'iso');
  const others = usersOwnedBy('n2', MEMBERS, 6, 'isx');
  for (const user of [...owned, ...others]) await RecordedClient.login(history, n3, user);
  net.isolate('n1');
  await sleep(1500);
  // n1 renews its leases: its users cannot be admitted elsewhere (60022),
  // and its instances on n3 end once n3 has waited for the lease to move.
  await Promise.all(owned.map((user) => RecordedClient.login(history, n2, user)));
  await Promise.all(others.map((user) => RecordedClient.login(history, n1, user)));
  await sleep(FENCE_MS);
  assertRuleHeld(history);
  assertAllAnswered(history, [0, 60022]);
  for (const user of owned)
    assert.ok(history.clients.filter((c) => c.user === user && c.node === 'n2').every((c) => c.code === 60022), user);
  assert.equal(await metric(n1, 'chatd_cluster_lease_store_up'), 1);
  net.healAll();
  await assertConverged(history, [...owned, ...others]);
  for (const c of history.clients) c.close();
});

test('a node isolated from PostgreSQL only: its shards move within the lease time, its sessions stay', async () => {
  await fresh();
  const [n1, n2, n3] = net.nodes;
  const history = new History();
  const owned = usersOwnedBy('n1', MEMBERS, 6, 'pg');
  const [keeperUser] = usersOwnedBy('n2', MEMBERS, 1, 'pgk');
  for (const user of owned) await RecordedClient.login(history, n2, user);
  const keeper = await RecordedClient.login(history, n1, keeperUser);
  net.cutPostgres('n1');
  const cutAt = Date.now();
  await eventually(async () => assert.equal(await metric(n1, 'chatd_cluster_shards_open'), 0), 'n1 stops admitting', 3000);
  assert.ok(Date.now() - cutAt <= 2000 + 500, 'within the lease time');
  // n2 and n3 hold n1's shards now, with n2's instances of them (claimed).
  await eventually(async () => {
    const open = (await metric(n2, 'chatd_cluster_shards_open')) + (await metric(n3, 'chatd_cluster_shards_open'));
    assert.equal(open, 1024);
  }, 'the others hold every shard', 5000);
  for (const user of owned) assert.deepEqual(await onlineIDs(n3, user), believed(history, user));
  await Promise.all(owned.map((user) => RecordedClient.login(history, n3, user)));
  await sleep(500);
  assertRuleHeld(history);
  assertAllAnswered(history, [0]);
  assert.ok(keeper.online, 'a live session on n1 stays');
  assert.equal((await keeper.request('isReady')).data.ready, true);
  net.healAll();
  // n1 takes its share back without a restart.
  await eventually(async () => assert.ok(await metric(n1, 'chatd_cluster_shards_open') > 200), 'n1 serves again', 8000);
  const [fresh1] = usersOwnedBy('n1', MEMBERS, 1, 'pgback');
  const back = await RecordedClient.login(history, n1, fresh1);
  assert.equal(back.code, 0);
  await assertConverged(history, [...owned, keeperUser]);
  for (const c of history.clients) c.close();
});

test('PostgreSQL unreachable from every node: logins refused (60022) within the lease time, sessions stay, service resumes', async () => {
  await fresh();
  const [n1, n2, n3] = net.nodes;
  const history = new History();
  const live = await RecordedClient.login(history, n2, 'pgall-live');
  for (const name of MEMBERS) net.cutPostgres(name);
  await sleep(2000 + 500);
  for (const node of net.nodes) {
    const refused = await RecordedClient.login(history, node, `pgall-${node.name}`);
    assert.equal(refused.code, 60022, node.name);
  }
  assert.ok(live.online);
  assert.equal((await live.request('isReady')).data.ready, true);
  net.healAll();
  await eventually(async () => {
    const c = await RecordedClient.login(history, n3, 'pgall-after');
    assert.equal(c.code, 0);
  }, 'logins resume', 10000);
  assertRuleHeld(history);
  await assertConverged(history, ['pgall-live', 'pgall-after']);
  for (const c of history.clients) c.close();
});

test('a frozen owner (SIGSTOP) longer than the lease: its shards move, their instances are claimed, the rule holds', async () => {
  await fresh();
  const [n1, n2, n3] = net.nodes;
  const history = new History();
  const users = usersOwnedBy('n1', MEMBERS, 6, 'fz');
  for (const user of users) await RecordedClient.login(history, n2, user);
  net.freeze('n1');
  try {
    await sleep(2000 + 1500);
    // The new owners hold the instances on n2 (claimed) and replay the rule.
    await Promise.all(users.map((user) => RecordedClient.login(history, n3, user)));
    assertAllAnswered(history, [0]);
    for (const c of history.clients.filter((x) => x.node === 'n2')) assert.equal(c.online, false);
  } finally {
    net.thaw('n1');
  }
  await sleep(1000);
  assertRuleHeld(history);
  await assertConverged(history, users);
  for (const c of history.clients) c.close();
});

test('30 s of random cuts, one-way losses, freezes and PostgreSQL losses during a login storm with kicks and messages', async () => {
  await fresh();
  const report = await runStorm(net, { seconds: 30, users: 5, seed: 20 });
  assert.ok(report.logins > 100, JSON.stringify(report));
  assert.ok(report.acknowledged > 20, JSON.stringify(report));
});
