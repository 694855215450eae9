// chatd with `[store] backend = "postgres"` on a real PostgreSQL server (the
// CTest fixture's, tests/postgres/postgres.sh): everything durable survives
// a kill -9 and a start of another chatd with an empty state_dir on the
// same database: accounts, REST kicks, login config changes, messages.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, stopAll, Client, sig, sleep } from './lib/chatd.mjs';
import { freshDatabase as newDatabase } from './lib/cluster.mjs';

const servers = [];
after(() => stopAll(servers));

const freshDatabase = () => newDatabase('chatd_e2e');

async function chatdOn(url) {
  const s = await startChatd({ store: { backend: 'postgres', postgres_url: url } });
  servers.push(s);
  return s;
}

async function loggedIn(s, user, options) {
  const c = await Client.connect(s.url);
  const r = await c.login(user, options);
  assert.equal(r.code, 0, JSON.stringify(r));
  return c;
}

test('state and timelines live in PostgreSQL: a second chatd after a kill -9 has them all', async () => {
  const url = freshDatabase();
  const first = await chatdOn(url);
  const alice = await loggedIn(first, 'alice');
  const bob = await loggedIn(first, 'bob');
  const sent = await alice.request('sendMessage', { to: 'bob', text: 'kept in postgres', clientMsgID: 'pg-1' });
  assert.equal(sent.code, 0);
  assert.equal((await bob.waitEvent('messageReceived')).data.text, 'kept in postgres');
  bob.close();
  const carolSig = sig('carol');
  await loggedIn(first, 'carol', { userSig: carolSig });
  assert.equal((await first.rest('im_open_login_svc/account_import', { UserID: 'dave' })).body.ErrorCode, 0);
  assert.equal((await first.rest('chatd_admin/set_login_config', { MaxWebInstances: 3 })).body.ErrorCode, 0);
  assert.equal((await first.rest('im_open_login_svc/kick', { UserID: 'carol' })).body.ErrorCode, 0);
  await first.stop('SIGKILL');

  const second = await chatdOn(url);  // a new state_dir: nothing on disk
  const config = await second.rest('chatd_admin/get_login_config');
  assert.equal(config.body.MaxWebInstances, 3);
  const online = await second.rest('openim/query_online_status', { To_Account: ['dave', 'alice'] });
  assert.equal(online.body.ErrorCode, 0, 'dave (imported) and alice (logged in) are known accounts');
  const c = await Client.connect(second.url);
  assert.equal((await c.login('carol', { userSig: carolSig })).code, 70052, 'the REST kick revoked the old sig');
  const bobAgain = await Client.connect(second.url);
  const r = await bobAgain.request('login', { SDKAppID: 1400000000, userID: 'bob', userSig: sig('bob'), syncFromSeq: 0 });
  assert.equal(r.code, 0);
  const synced = await bobAgain.waitEvent('messageReceived');
  assert.equal(synced.data.text, 'kept in postgres');
  assert.equal(synced.data.seq, 1);
  // The retried clientMsgID is still known: stored once.
  const aliceAgain = await loggedIn(second, 'alice');
  const retry = await aliceAgain.request('sendMessage', { to: 'bob', text: 'kept in postgres', clientMsgID: 'pg-1' });
  assert.equal(retry.data.messageID, sent.data.messageID);
  assert.equal(retry.data.seq, 1);
  for (const x of [alice, c, bobAgain, aliceAgain]) x.close();
});

test('two chatd processes on one database: a message sent on one is synced on the other', async () => {
  const url = freshDatabase();
  const [one, two] = [await chatdOn(url), await chatdOn(url)];
  // bob imported on one: two knows him at once (its caches follow the database).
  assert.equal((await one.rest('im_open_login_svc/account_import', { UserID: 'bob' })).body.ErrorCode, 0);
  await sleep(300);
  const alice = await loggedIn(one, 'alice');
  const eve = await loggedIn(two, 'eve');
  for (let i = 1; i <= 5; ++i) {
    assert.equal((await alice.request('sendMessage', { to: 'bob', text: `from one ${i}` })).code, 0);
    assert.equal((await eve.request('sendMessage', { to: 'bob', text: `from two ${i}` })).code, 0);
  }
  const bob = await Client.connect(two.url);
  await bob.request('login', { SDKAppID: 1400000000, userID: 'bob', userSig: sig('bob'), syncFromSeq: 0 });
  for (let tries = 0; bob.events.filter((e) => e.event === 'messageReceived').length < 10 && tries < 200; ++tries)
    await sleep(10);
  const seqs = bob.events.filter((e) => e.event === 'messageReceived').map((e) => e.data.seq);
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const x of [alice, eve, bob]) x.close();
});

test('two chatd processes on one database: a login config change and a REST kick on one hold on the other', async () => {
  const url = freshDatabase();
  const [one, two] = [await chatdOn(url), await chatdOn(url)];
  assert.equal((await one.rest('chatd_admin/set_login_config', { MaxWebInstances: 2 })).body.ErrorCode, 0);
  const changedAt = Date.now();
  let seen;
  while (!seen && Date.now() - changedAt < 5000) {
    const r = await two.rest('chatd_admin/get_login_config');
    if (r.body.MaxWebInstances === 2) seen = Date.now();
    else await sleep(20);
  }
  assert.ok(seen, 'the other process applied the change');
  assert.ok(seen - changedAt < 1000, `applied within 1 s (${seen - changedAt} ms)`);
  // Two Web instances of frank on two: the limit one set is the rule there.
  const f1 = await loggedIn(two, 'frank');
  const f2 = await loggedIn(two, 'frank');
  await sleep(200);
  assert.ok(!f1.eventNames().includes('kickedOut'), 'MaxWebInstances 2 applies on two');
  // A REST kick on one revokes frank's old sigs on two.
  const oldSig = sig('frank');
  assert.equal((await one.rest('im_open_login_svc/kick', { UserID: 'frank' })).body.ErrorCode, 0);
  await sleep(300);
  const again = await Client.connect(two.url);
  assert.equal((await again.login('frank', { userSig: oldSig })).code, 70052);
  for (const x of [f1, f2, again]) x.close();
});

test('a config with backend = "postgres" and no URL, or an unreachable server, stops chatd with a clear error', async () => {
  await assert.rejects(startChatd({ store: { backend: 'postgres' } }), /store.postgres_url goes with store.backend/);
  await assert.rejects(startChatd({ store: { backend: 'postgres', postgres_url: 'postgresql://chatd:pw@127.0.0.1:1/x' } }),
    (e) => /cannot open the PostgreSQL/.test(e.message) && !/pw@/.test(e.message));
});
