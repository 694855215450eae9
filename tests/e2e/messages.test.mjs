// One-to-one messages on durable per-user timelines (CONTRACT §2c), over the
// native protocol and REST, against real chatd processes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig, Client, sig, sleep, APP, until } from './lib/chatd.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop('SIGKILL'); });

async function server(options = {}) {
  const s = await startChatd({ apps: [appConfig({ max_web_instances: 3 })], ...options });
  servers.push(s);
  return s;
}

async function loggedIn(s, user, data = {}) {
  const c = await Client.connect(s.url);
  const r = await c.request('login', { SDKAppID: APP, userID: user, userSig: sig(user), platform: 'Web', ...data });
  assert.equal(r.code, 0, JSON.stringify(r));
  return c;
}

async function account(s, user) {
  const r = await s.rest('im_open_login_svc/account_import', { UserID: user });
  assert.equal(r.body.ErrorCode, 0);
}

function received(c) {
  return c.events.filter((e) => e.event === 'messageReceived').map((e) => e.data);
}

test('fan-out: every instance of the recipient, the sender\'s other instances, not the sending one', async () => {
  const s = await server();
  const alice1 = await loggedIn(s, 'alice');
  const alice2 = await loggedIn(s, 'alice');
  const bob1 = await loggedIn(s, 'bob');
  const bob2 = await loggedIn(s, 'bob');
  const carol = await loggedIn(s, 'carol');
  const r = await alice1.request('sendMessage', { to: 'bob', text: 'hello bob', clientMsgID: 'c-1' });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(r.data.seq, 1);
  assert.ok(r.data.messageID);
  assert.ok(Math.abs(r.data.time - Date.now()) < 5000);
  for (const bob of [bob1, bob2]) {
    const m = (await bob.waitEvent('messageReceived')).data;
    assert.deepEqual(m, { from: 'alice', to: 'bob', text: 'hello bob', messageID: r.data.messageID,
      time: r.data.time, clientMsgID: 'c-1', seq: 1, flow: 'in' });
  }
  const copy = (await alice2.waitEvent('messageReceived')).data;
  assert.equal(copy.flow, 'out');
  assert.equal(copy.seq, 1);  // alice's own timeline
  assert.equal(r.data.senderSeq, copy.seq, 'the answer names the sender\'s own seq too');
  assert.equal(copy.messageID, r.data.messageID);
  // A reply takes the next seq in each timeline.
  const back = await bob2.request('sendMessage', { to: 'alice', text: 'hi alice' });
  assert.equal(back.data.seq, 2);
  await until(() => received(alice1).length === 1 && received(alice2).length === 2 && received(bob1).length === 2, 'the reply');
  assert.deepEqual(received(alice1).map((m) => [m.seq, m.flow]), [[2, 'in']]);
  assert.deepEqual(received(bob1).map((m) => [m.seq, m.flow]), [[1, 'in'], [2, 'out']]);
  assert.equal(received(bob2).length, 1);  // not its own message
  await sleep(100);
  assert.equal(received(carol).length, 0);
});

test('bad sends get their code and the connection stays usable', async () => {
  const s = await server();
  const anon = await Client.connect(s.url);
  assert.equal((await anon.request('sendMessage', { to: 'bob', text: 'x' })).code, 2024);
  const alice = await loggedIn(s, 'alice');
  await account(s, 'bob');
  const codeOf = async (data) => (await alice.request('sendMessage', data)).code;
  assert.equal(await codeOf({ to: 'nobody-ever', text: 'x' }), 20003);
  assert.equal(await codeOf({ to: 'bad\u0001id', text: 'x' }), 20003);
  assert.equal(await codeOf({ to: 42, text: 'x' }), 20003);
  assert.equal(await codeOf({ text: 'x' }), 20003);
  assert.equal(await codeOf({ to: 'bob', text: '' }), 80002);
  assert.equal(await codeOf({ to: 'bob' }), 80002);
  assert.equal(await codeOf({ to: 'bob', text: 'x', clientMsgID: 'x'.repeat(65) }), 2017);
  assert.equal(await codeOf({ to: 'bob', text: 'x', clientMsgID: 7 }), 2017);
  assert.equal(await codeOf({ to: 'bob', text: 'x', clientMsgID: 'x'.repeat(64) }), 0);
  assert.equal((await alice.request('ping')).code, 0);
  // Logged out, then kicked: 2024 again.
  await alice.request('logout');
  assert.equal(await codeOf({ to: 'bob', text: 'x' }), 2024);
});

test('12 KiB boundary in 1 to 4 byte characters', async () => {
  const s = await server();
  const alice = await loggedIn(s, 'alice');
  const bob = await loggedIn(s, 'bob');
  let expected = 0;
  for (const ch of ['a', 'é', '€', '😀']) {
    const bytes = Buffer.byteLength(ch);
    const exact = ch.repeat(12288 / bytes);
    assert.equal(Buffer.byteLength(exact), 12288);
    const r = await alice.request('sendMessage', { to: 'bob', text: exact });
    assert.equal(r.code, 0, `${bytes}-byte characters at 12 KiB`);
    expected += 1;
    assert.equal((await alice.request('sendMessage', { to: 'bob', text: exact + ch })).code, 80002);
  }
  await until(() => received(bob).length === expected, 'the four messages');
  for (const [i, ch] of ['a', 'é', '€', '😀'].entries())
    assert.equal(received(bob)[i].text, ch.repeat(12288 / Buffer.byteLength(ch)));
});

test('a resuming login\'s answer names the timeline head (timelineHead); a login without syncFromSeq does not', async () => {
  const s = await server();
  const sender = await loggedIn(s, 'hal');
  await loggedIn(s, 'ivy');
  for (const text of ['a', 'b']) assert.equal((await sender.request('sendMessage', { to: 'ivy', text })).code, 0);
  const plain = await Client.connect(s.url);
  const r1 = await plain.login('ivy');
  assert.equal(r1.data.timelineHead, undefined);
  const resuming = await Client.connect(s.url);
  const r2 = await resuming.request('login', { SDKAppID: 1400000000, userID: 'ivy', userSig: sig('ivy'), syncFromSeq: 50 });
  assert.equal(r2.code, 0);
  assert.equal(r2.data.timelineHead, 2, 'past the head: the client can tell');
});

test('offline, then sync: syncFromSeq N gets everything after N in order, then live messages', async () => {
  const s = await server();
  const alice = await loggedIn(s, 'alice');
  await account(s, 'bob');
  for (let i = 1; i <= 5; ++i)
    assert.equal((await alice.request('sendMessage', { to: 'bob', text: `m${i}` })).code, 0);
  const bob = await loggedIn(s, 'bob', { syncFromSeq: 0 });
  await until(() => received(bob).length === 5, 'the backlog');
  assert.deepEqual(received(bob).map((m) => m.text), ['m1', 'm2', 'm3', 'm4', 'm5']);
  // The backlog follows the login answer and sdkStateReady.
  assert.equal(bob.eventNames()[0], 'sdkStateReady');
  const late = await loggedIn(s, 'bob', { syncFromSeq: 3 });
  await until(() => received(late).length === 2, 'the tail');
  assert.deepEqual(received(late).map((m) => m.seq), [4, 5]);
  // Without syncFromSeq: live only.
  const live = await loggedIn(s, 'bob');
  await alice.request('sendMessage', { to: 'bob', text: 'm6' });
  await until(() => received(live).length === 1 && received(bob).length === 6 && received(late).length === 3, 'm6');
  assert.equal(received(live)[0].seq, 6);
});

test('a sync racing live messages: no gap, no duplicate, in order', async () => {
  const s = await server();
  await account(s, 'bob');
  const alice = await loggedIn(s, 'alice');
  const stored = 450;  // more than two sync pages
  await Promise.all(Array.from({ length: stored }, (_, i) => alice.request('sendMessage', { to: 'bob', text: `s${i}` })));
  const racing = 300;
  const sends = Array.from({ length: racing }, (_, i) => alice.request('sendMessage', { to: 'bob', text: `r${i}` }));
  const bob = await loggedIn(s, 'bob', { syncFromSeq: 0 });
  const answers = await Promise.all(sends);
  assert.ok(answers.every((a) => a.code === 0));
  await until(() => received(bob).length >= stored + racing, 'every message', 20000);
  await sleep(200);
  const seqs = received(bob).map((m) => m.seq);
  assert.equal(seqs.length, stored + racing, 'no duplicate');
  seqs.forEach((seq, i) => assert.equal(seq, i + 1, 'in order, without a gap'));
});

test('a resume point past the timeline head (a reset store): what comes after the head arrives, once', async () => {
  const s = await server();
  await account(s, 'rbob');
  const alice = await loggedIn(s, 'ralice');
  for (let round = 0; round < 8; ++round) {
    const racing = 200;
    // Far past this server's head: told the head, the client starts over
    // from it, and everything after it must come (the sync starts there
    // too), also what is sent while the login's sync runs.
    const bob = await Client.connect(s.url);
    const login = bob.request('login', { SDKAppID: APP, userID: 'rbob', userSig: sig('rbob'), platform: 'Web', syncFromSeq: 1000000 });
    await sleep(round);  // each round meets the login at another point
    const sends = Array.from({ length: racing }, (_, i) => alice.request('sendMessage', { to: 'rbob', text: `${round}-${i}` }));
    const answers = await Promise.all(sends);
    const r = await login;
    assert.equal(r.code, 0, JSON.stringify(r));
    assert.ok(answers.every((a) => a.code === 0));
    const head = r.data.timelineHead;
    const expected = answers.map((a) => a.data.seq).filter((seq) => seq > head).sort((a, b) => a - b);
    const seqs = () => received(bob).map((m) => m.seq);
    const after = () => seqs().filter((seq) => seq > head);
    await until(() => after().length >= expected.length, `round ${round}: ${expected.length} after head ${head} (got ${after().length})`, 10000);
    await sleep(100);
    assert.deepEqual(after(), expected, `round ${round}: after head ${head}`);
    // Entries that raced the login itself may come too (the client drops
    // what is not past its resume point), but each at most once.
    assert.equal(new Set(seqs()).size, seqs().length, 'no duplicate');
    bob.close();
  }
});

test('kill -9 after acknowledged sends loses nothing', async () => {
  const s = await server();
  const alice = await loggedIn(s, 'alice');
  await account(s, 'bob');
  const acked = [];
  const pending = [];
  for (let i = 0; i < 10000; ++i)
    pending.push(alice.request('sendMessage', { to: 'bob', text: `k${i}` }).then((r) => { if (r.code === 0) acked.push(r.data); }).catch(() => {}));
  await until(() => acked.length >= 100, 'the first acknowledgements');  // the kill lands mid-stream
  const dir = s.keep();
  await s.stop('SIGKILL');
  alice.close();
  await Promise.all(pending.map((p) => Promise.race([p, sleep(2000)])));
  assert.ok(acked.length >= 100, `${acked.length} acknowledged before the kill`);
  const again = await startChatd({ dir });
  servers.push(again);
  const bob = await loggedIn(again, 'bob', { syncFromSeq: 0 });
  await until(() => received(bob).length >= acked.length, 'the acknowledged messages');
  const ids = new Set(received(bob).map((m) => m.messageID));
  for (const a of acked) assert.ok(ids.has(a.messageID), `acknowledged ${a.messageID} survived`);
  // Seqs go on after the restart, without a gap.
  await sleep(200);
  const seqs = received(bob).map((m) => m.seq);
  seqs.forEach((seq, i) => assert.equal(seq, i + 1));
  const next = await (await loggedIn(again, 'alice')).request('sendMessage', { to: 'bob', text: 'after' });
  assert.equal(next.data.seq, seqs.length + 1);
});

test('sending to oneself: one entry, to every instance but the sending one', async () => {
  const s = await server();
  const a1 = await loggedIn(s, 'alice');
  const a2 = await loggedIn(s, 'alice');
  const r = await a1.request('sendMessage', { to: 'alice', text: 'note to self' });
  assert.equal(r.code, 0);
  const m = (await a2.waitEvent('messageReceived')).data;
  assert.equal(m.flow, 'in');
  assert.equal(m.seq, r.data.seq);
  await sleep(100);
  assert.equal(received(a1).length, 0);
  const next = await a1.request('sendMessage', { to: 'alice', text: 'again' });
  assert.equal(next.data.seq, r.data.seq + 1, 'one timeline entry per message');
});

test('a kicked instance receives no further message', async () => {
  const s = await startChatd();  // max_web_instances 1
  servers.push(s);
  const alice = await loggedIn(s, 'alice');
  const old = await loggedIn(s, 'bob');
  const fresh = await loggedIn(s, 'bob');
  await old.waitEvent('kickedOut');
  await alice.request('sendMessage', { to: 'bob', text: 'to the new one' });
  await fresh.waitEvent('messageReceived');
  await sleep(100);
  assert.equal(received(old).length, 0);
});

test('REST sendmsg and admin_getroammsg, Tencent-shaped', async () => {
  const s = await server();
  const alice1 = await loggedIn(s, 'alice');
  const bob = await loggedIn(s, 'bob');
  const body = (text, extra = {}) => ({ SyncOtherMachine: 1, From_Account: 'alice', To_Account: 'bob', MsgRandom: 1234,
    MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }], ...extra });
  const sent = await s.rest('openim/sendmsg', body('from the backend'));
  assert.equal(sent.body.ErrorCode, 0, JSON.stringify(sent.body));
  assert.ok(Math.abs(sent.body.MsgTime - Date.now() / 1000) < 5);
  assert.ok(sent.body.MsgKey);
  const m = (await bob.waitEvent('messageReceived')).data;
  assert.equal(m.text, 'from the backend');
  assert.equal(m.from, 'alice');
  const copy = (await alice1.waitEvent('messageReceived')).data;  // no sending instance: all get the copy
  assert.equal(copy.flow, 'out');
  // SyncOtherMachine 2: not in the sender's timeline.
  await s.rest('openim/sendmsg', body('no copy', { SyncOtherMachine: 2 }));
  await until(() => received(bob).length === 2, 'the second');
  await sleep(100);
  assert.equal(received(alice1).length, 1);
  // From the admin when From_Account is absent.
  const fromAdmin = await s.rest('openim/sendmsg', { To_Account: 'bob', MsgRandom: 1, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'notice' } }] });
  assert.equal(fromAdmin.body.ErrorCode, 0);
  await until(() => received(bob).length === 3, 'the notice');
  assert.equal(received(bob)[2].from, 'administrator');
  // Errors.
  assert.equal((await s.rest('openim/sendmsg', body('x', { To_Account: 'nobody' }))).body.ErrorCode, 20003);
  assert.equal((await s.rest('openim/sendmsg', body('x', { From_Account: 'nobody' }))).body.ErrorCode, 20003);
  assert.equal((await s.rest('openim/sendmsg', body(''))).body.ErrorCode, 80002);
  assert.equal((await s.rest('openim/sendmsg', body('x', { MsgBody: [{ MsgType: 'TIMCustomElem', MsgContent: {} }] }))).body.ErrorCode, 80002);

  // History of the pair, newest first, paged by count.
  for (let i = 0; i < 4; ++i) await bob.request('sendMessage', { to: 'alice', text: `reply ${i}` });
  const now = Math.floor(Date.now() / 1000);
  const page1 = await s.rest('openim/admin_getroammsg', { Operator_Account: 'alice', Peer_Account: 'bob', MaxCnt: 3, MinTime: now - 60, MaxTime: now + 60 });
  assert.equal(page1.body.ErrorCode, 0, JSON.stringify(page1.body));
  assert.equal(page1.body.Complete, 0);
  assert.equal(page1.body.MsgCnt, 3);
  assert.deepEqual(page1.body.MsgList.map((x) => x.MsgBody[0].MsgContent.Text), ['reply 3', 'reply 2', 'reply 1']);
  assert.equal(page1.body.MsgList[0].From_Account, 'bob');
  assert.equal(page1.body.MsgList[0].To_Account, 'alice');
  const all = await s.rest('openim/admin_getroammsg', { Operator_Account: 'alice', Peer_Account: 'bob', MaxCnt: 100, MinTime: now - 60, MaxTime: now + 60 });
  assert.equal(all.body.Complete, 1);
  // alice's timeline with bob: 4 replies + 1 copy (the SyncOtherMachine 2 one is only bob's).
  assert.equal(all.body.MsgCnt, 5);
  assert.equal(all.body.MsgList[4].MsgKey, sent.body.MsgKey);
  assert.equal(all.body.MsgList[4].MsgRandom, 1234);
  const bobSide = await s.rest('openim/admin_getroammsg', { Operator_Account: 'bob', Peer_Account: 'alice', MaxCnt: 100, MinTime: now - 60, MaxTime: now + 60 });
  assert.equal(bobSide.body.MsgCnt, 6);
  const bad = await s.rest('openim/admin_getroammsg', { Operator_Account: 'bob', Peer_Account: 'alice', MaxCnt: 101 });
  assert.equal(bad.body.ErrorCode, 70402);
});

test('retention: max_timeline_messages keeps the newest entries', async () => {
  const s = await startChatd({ apps: [appConfig({ max_timeline_messages: 3 })] });
  servers.push(s);
  const alice = await loggedIn(s, 'alice');
  await account(s, 'bob');
  for (let i = 1; i <= 5; ++i) await alice.request('sendMessage', { to: 'bob', text: `m${i}` });
  const bob = await loggedIn(s, 'bob', { syncFromSeq: 0 });
  await until(() => received(bob).length === 3, 'the newest three');
  await sleep(100);
  assert.deepEqual(received(bob).map((m) => m.seq), [3, 4, 5]);
});

test('a recipient that does not read stalls neither the sender nor other recipients, and is cut off', async () => {
  const s = await server({ server: { outbox_frames: 64, send_stall_timeout_s: 2 } });
  const alice = await loggedIn(s, 'alice');
  const slow = await loggedIn(s, 'bob');
  const carol = await loggedIn(s, 'carol');
  slow.ws.pause();  // reads nothing more: the socket buffers fill, then its outbox
  const text = 'x'.repeat(12000);
  const started = Date.now();
  const count = 1000;  // 12 MB: more than loopback's socket buffers hold
  for (let i = 0; i < count; ++i)
    assert.equal((await alice.request('sendMessage', { to: 'bob', text })).code, 0);
  assert.equal((await alice.request('sendMessage', { to: 'carol', text: 'still flowing' })).code, 0);
  assert.ok(Date.now() - started < 10000, 'the sender was not held up');
  assert.equal((await carol.waitEvent('messageReceived')).data.text, 'still flowing');
  // The paused client cannot see its connection end; the server's view can.
  const online = async () => (await s.rest('openim/query_online_status', { To_Account: ['bob'] })).body.QueryResult[0].Status;
  for (let i = 0; i < 150 && await online() === 'Online'; ++i) await sleep(100);
  assert.equal(await online(), 'Offline', 'the slow recipient was cut off');
  const metrics = await (await fetch(`http://${s.metrics}/metrics`)).text();
  assert.match(metrics, /chatd_connection_errors_total\{kind="slow_client"\} [1-9]/);
  slow.close();
  // Nothing is lost for it: its next login syncs the backlog.
  const again = await loggedIn(s, 'bob', { syncFromSeq: 0 });
  await until(() => received(again).length === count, 'the backlog', 30000);
});
