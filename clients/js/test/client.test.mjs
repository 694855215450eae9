// chatd-chat against a real chatd over real WebSockets on 127.0.0.1: the
// Tencent-shaped API, kicks of every type, messages, reconnects.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import ChatdChat, { ChatdError, EVENT, TYPES } from '../src/index.js';
import { recordedClient, startChatd, startProxy, stopAll, sig, sleep, until, APP, KEY } from './helpers.mjs';

// Whatever a test leaves (it failed half-way) is closed at the end.
const servers = [];
const proxies = [];
after(async () => {
  for (const p of proxies) p.close();
  await stopAll(servers);
});

async function server(app = {}) {
  const s = await startChatd({ server: { drain_grace_s: 1 }, apps: [{ sdkappid: APP, secret_key: KEY, ...app }] });
  servers.push(s);
  return s;
}

async function proxyTo(s) {
  const p = await startProxy(s.gateway);
  proxies.push(p);
  return p;
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

test('login resolves Tencent\'s shape; SDK_READY; getLoginUser, isReady, getServerTime (ms)', async () => {
  const s = await server();
  const chat = recordedClient(s.url);
  assert.equal(chat.getLoginUser(), '');
  assert.equal(chat.isReady(), false);
  const r = await chat.login({ userID: 'alice', userSig: sig('alice') });
  assert.equal(r.code, 0);
  assert.equal(r.data.repeatLogin, false);
  assert.equal(r.data.errorInfo, '');
  assert.match(r.data.instanceID, /^\d+$/);
  await until(() => chat.isReady(), 'SDK_READY');
  assert.deepEqual(chat.named(EVENT.SDK_READY)[0].data, { userID: 'alice', instanceID: r.data.instanceID });
  assert.equal(chat.getLoginUser(), 'alice');
  assert.ok(Math.abs(chat.getServerTime() - Date.now()) < 2000, 'milliseconds, near the local clock');
  assert.deepEqual(chat.named(EVENT.NET_STATE_CHANGE).map((e) => e.data.state), [TYPES.NET_STATE_CONNECTED]);

  // Already logged in: nothing is sent, repeatLogin names the user.
  const again = await chat.login({ userID: 'bob', userSig: sig('bob') });
  assert.equal(again.data.repeatLogin, true);
  assert.match(again.data.errorInfo, /alice/);
  assert.equal(chat.getLoginUser(), 'alice');
  await chat.destroy();
});

test('login rejects {code, message}: missing fields, a bad UserSig, a login in flight', async () => {
  const s = await server();
  const chat = recordedClient(s.url);
  for (const [params, code] of [[{ userSig: 'x' }, 2002], [{ userID: 'a' }, 2003]]) {
    const e = await rejection(chat.login(params));
    assert.ok(e instanceof ChatdError);
    assert.equal(e.code, code);
  }
  assert.equal((await rejection(new ChatdChat({ url: s.url }).login({ userID: 'a', userSig: 'b' }))).code, 2000);
  const bad = await rejection(chat.login({ userID: 'alice', userSig: sig('bob') }));
  assert.equal(bad.code, 70013);
  assert.ok(bad.message.length > 0);
  assert.equal(chat.getLoginUser(), '');
  const first = chat.login({ userID: 'alice', userSig: sig('alice') });
  assert.equal((await rejection(chat.login({ userID: 'alice', userSig: sig('alice') }))).code, 2025);
  assert.equal((await first).code, 0);
  await chat.destroy();
});

test('KICKED_OUT multipleAccount, then SDK_NOT_READY 3003; the kicked instance does not come back', async () => {
  const s = await server({ max_web_instances: 1 });
  const first = recordedClient(s.url);
  const second = recordedClient(s.url);
  await first.login({ userID: 'carol', userSig: sig('carol') });
  await until(() => first.isReady(), 'first ready');
  const r = await second.login({ userID: 'carol', userSig: sig('carol') });
  await until(() => first.named(EVENT.SDK_NOT_READY).length === 1, 'first not ready');
  const kicked = first.named(EVENT.KICKED_OUT);
  assert.equal(kicked.length, 1);
  assert.equal(kicked[0].data.type, ChatdChat.TYPES.KICKED_OUT_MULT_ACCOUNT);
  assert.deepEqual(kicked[0].data.by, { platform: 'Web', instanceID: r.data.instanceID });
  assert.equal(first.named(EVENT.SDK_NOT_READY)[0].data.reason, 3003);
  assert.equal(first.isReady(), false);
  assert.equal(first.getLoginUser(), '');
  await sleep(600);  // longer than a reconnect back-off
  const online = await s.rest('openim/query_online_status', { To_Account: ['carol'], IsNeedDetail: 1 });
  assert.equal(online.body.QueryResult[0].Detail.length, 1, JSON.stringify(online.body));
  // It may log in again (kicking the other one back).
  assert.equal((await first.login({ userID: 'carol', userSig: sig('carol') })).data.repeatLogin, false);
  await until(() => second.named(EVENT.KICKED_OUT).length === 1, 'second kicked');
  await first.destroy();
  await second.destroy();
});

test('KICKED_OUT multipleDevice, REST_API_Kick and userSigExpired', async () => {
  const s = await server({ multi_device_policy: 'dual' });
  const android = recordedClient(s.url, { platform: 'Android' });
  await android.login({ userID: 'dave', userSig: sig('dave') });
  const iphone = recordedClient(s.url, { platform: 'iPhone' });
  await iphone.login({ userID: 'dave', userSig: sig('dave') });
  await until(() => android.named(EVENT.KICKED_OUT).length === 1, 'android kicked');
  assert.equal(android.named(EVENT.KICKED_OUT)[0].data.type, TYPES.KICKED_OUT_MULT_DEVICE);

  const r = await s.rest('im_open_login_svc/kick', { UserID: 'dave' });
  assert.equal(r.body.ErrorCode, 0);
  await until(() => iphone.named(EVENT.KICKED_OUT).length === 1, 'iphone kicked by REST');
  assert.equal(iphone.named(EVENT.KICKED_OUT)[0].data.type, TYPES.KICKED_OUT_REST_API);

  const short = recordedClient(s.url);
  await short.login({ userID: 'erin', userSig: sig('erin', { expire: 1 }) });
  await until(() => short.named(EVENT.KICKED_OUT).length === 1, 'expiry kick', 5000);
  assert.equal(short.named(EVENT.KICKED_OUT)[0].data.type, TYPES.KICKED_OUT_USERSIG_EXPIRED);
  await until(() => short.named(EVENT.SDK_NOT_READY).length === 1, 'not ready after expiry');
  assert.equal(short.named(EVENT.SDK_NOT_READY)[0].data.reason, 3004);
  for (const c of [android, iphone, short]) await c.destroy();
});

test('createTextMessage + sendMessage; MESSAGE_RECEIVED on the recipient and the sender\'s other instance', async () => {
  const s = await server({ max_web_instances: 2 });
  const alice = recordedClient(s.url);
  const aliceToo = recordedClient(s.url);
  const bob = recordedClient(s.url);
  for (const [c, user] of [[alice, 'alice'], [aliceToo, 'alice'], [bob, 'bob']])
    await c.login({ userID: user, userSig: sig(user) });
  await until(() => bob.isReady() && alice.isReady() && aliceToo.isReady(), 'all ready');

  const message = alice.createTextMessage({ to: 'bob', conversationType: TYPES.CONV_C2C, payload: { text: 'hi bob' } });
  assert.equal(message.status, 'unSend');
  const sent = await alice.sendMessage(message);
  assert.equal(sent.code, 0);
  assert.equal(sent.data.message, message);
  assert.equal(message.status, 'success');
  assert.match(message.ID, /.+/);
  assert.ok(Math.abs(message.time - Date.now() / 1000) < 5, 'seconds');

  await until(() => bob.named(EVENT.MESSAGE_RECEIVED).length === 1, 'bob receives');
  const [received] = bob.named(EVENT.MESSAGE_RECEIVED)[0].data;
  assert.equal(received.ID, message.ID);
  assert.equal(received.payload.text, 'hi bob');
  assert.equal(received.type, TYPES.MSG_TEXT);
  assert.equal(received.flow, 'in');
  assert.equal(received.from, 'alice');
  assert.equal(received.conversationID, 'C2Calice');
  assert.equal(received.clientMsgID, message.clientMsgID);
  await until(() => aliceToo.named(EVENT.MESSAGE_RECEIVED).length === 1, 'the other alice receives a copy');
  const [copy] = aliceToo.named(EVENT.MESSAGE_RECEIVED)[0].data;
  assert.equal(copy.flow, 'out');
  assert.equal(copy.conversationID, 'C2Cbob');
  await sleep(200);
  assert.equal(alice.named(EVENT.MESSAGE_RECEIVED).length, 0, 'the sending instance gets no copy');

  // Sending the same object again is stored once (its clientMsgID).
  const again = await alice.sendMessage(message);
  assert.equal(again.data.message.ID, received.ID);
  const empty = alice.createTextMessage({ to: 'bob', payload: { text: '' } });
  const refused = await rejection(alice.sendMessage(empty));
  assert.equal(refused.code, 80002);
  assert.equal(refused.data.message.status, 'fail');
  for (const c of [alice, aliceToo, bob]) await c.destroy();
  assert.equal((await rejection(alice.sendMessage(message))).code, 2024);
});

test('createCustomMessage, and onlineUserOnly: a card is stored and synced, typing reaches online instances only', async () => {
  const s = await server({ max_web_instances: 2 });
  const alice = recordedClient(s.url);
  const bob = recordedClient(s.url);
  for (const [c, user] of [[alice, 'c-alice'], [bob, 'c-bob']]) await c.login({ userID: user, userSig: sig(user) });
  await until(() => bob.isReady() && alice.isReady(), 'both ready');
  const typing = alice.createCustomMessage({ to: 'c-bob', payload: { data: '{"businessID":"user_typing_status"}' } });
  assert.equal(typing.type, TYPES.MSG_CUSTOM);
  assert.deepEqual(typing.payload, { data: '{"businessID":"user_typing_status"}', description: '', extension: '' });
  assert.equal((await alice.sendMessage(typing, { onlineUserOnly: true })).code, 0);
  const card = alice.createCustomMessage({ to: 'c-bob', payload: { data: 'card', description: 'a card', extension: 'x' } });
  assert.equal((await alice.sendMessage(card)).code, 0);
  await until(() => bob.named(EVENT.MESSAGE_RECEIVED).length === 2, 'bob receives both');
  const [first, second] = bob.named(EVENT.MESSAGE_RECEIVED).map((e) => e.data[0]);
  assert.equal(first.onlineOnly, true);
  assert.equal(first.type, TYPES.MSG_CUSTOM);
  assert.equal(second.onlineOnly, false);
  assert.deepEqual(second.payload, { data: 'card', description: 'a card', extension: 'x' });
  assert.equal(second.ID, card.ID);
  // A new instance syncs the card only.
  const later = recordedClient(s.url);
  await later.login({ userID: 'c-bob', userSig: sig('c-bob'), syncFromSeq: 0 });
  await until(() => later.named(EVENT.MESSAGE_RECEIVED).length === 1, 'the sync brings the card');
  await sleep(200);
  assert.deepEqual(later.named(EVENT.MESSAGE_RECEIVED).flatMap((e) => e.data.map((m) => m.payload.data)), ['card']);
  for (const c of [alice, bob, later]) await c.destroy();
});

test('profiles: updateMyProfile, getMyProfile, getUserProfile as Tencent\'s Profile objects', async () => {
  const s = await server();
  const alice = recordedClient(s.url);
  const bob = recordedClient(s.url);
  for (const [c, user] of [[alice, 'p-alice'], [bob, 'p-bob']]) await c.login({ userID: user, userSig: sig(user) });
  await until(() => bob.isReady() && alice.isReady(), 'both ready');
  const fresh = await alice.getMyProfile();
  assert.deepEqual([fresh.data.userID, fresh.data.nick, fresh.data.gender], ['p-alice', '', 'Gender_Type_Unknown']);
  const updated = await alice.updateMyProfile({ nick: 'Alice', avatar: 'https://example.test/a.png', level: 2,
    profileCustomField: [{ key: 'Tag_Profile_Custom_Team', value: 'red' }] });
  assert.equal(updated.data.nick, 'Alice');
  const { data } = await bob.getUserProfile({ userIDList: ['p-alice', 'p-nobody'] });
  assert.equal(data.length, 1);
  assert.deepEqual([data[0].userID, data[0].nick, data[0].avatar, data[0].level], ['p-alice', 'Alice', 'https://example.test/a.png', 2]);
  assert.deepEqual(data[0].profileCustomField, [{ key: 'Tag_Profile_Custom_Team', value: 'red' }]);
  const refused = await rejection(alice.updateMyProfile({ gender: 'female' }));
  assert.equal(refused.code, 40001);
  for (const c of [alice, bob]) await c.destroy();
});

test('conversations: the list with unread counts, kept up to date; setMessageRead clears every instance, the peer sees it', async () => {
  const s = await server({ max_web_instances: 2 });
  const alice = recordedClient(s.url);
  const bob1 = recordedClient(s.url);
  const bob2 = recordedClient(s.url);
  for (const [c, user] of [[alice, 'v-alice'], [bob1, 'v-bob'], [bob2, 'v-bob']]) await c.login({ userID: user, userSig: sig(user) });
  await until(() => alice.isReady() && bob1.isReady() && bob2.isReady(), 'all ready');
  await alice.updateMyProfile({ nick: 'Alice' });
  for (const text of ['one', 'two']) await alice.sendMessage(alice.createTextMessage({ to: 'v-bob', payload: { text } }));
  await until(() => bob2.getTotalUnreadMessageCount() === 2, 'bob2 counts 2 unread');
  const fresh = recordedClient(s.url);
  await fresh.login({ userID: 'v-bob', userSig: sig('v-bob') }).catch(() => {});  // kicks bob1 (2 Web instances)
  await until(() => fresh.isReady(), 'fresh ready');
  const { data } = await fresh.getConversationList();
  assert.equal(data.conversationList.length, 1);
  const [c] = data.conversationList;
  assert.deepEqual([c.conversationID, c.unreadCount, c.lastMessage.payload.text, c.userProfile.nick], ['C2Cv-alice', 2, 'two', 'Alice']);
  assert.equal(fresh.getTotalUnreadMessageCount(), 2);
  await fresh.setMessageRead({ conversationID: 'C2Cv-alice' });
  assert.equal(fresh.getTotalUnreadMessageCount(), 0);
  await until(() => bob2.getTotalUnreadMessageCount() === 0, 'the other instance is cleared');
  await until(() => alice.named(EVENT.MESSAGE_READ_BY_PEER).length === 1, 'alice sees it read');
  assert.equal(alice.named(EVENT.MESSAGE_READ_BY_PEER)[0].data[0].conversationID, 'C2Cv-bob');
  const aliceList = (await alice.getConversationList()).data.conversationList;
  assert.equal(aliceList[0].unreadCount, 0, 'her own messages are not unread');
  assert.ok(aliceList[0].peerReadTime >= aliceList[0].lastMessage.lastTime);
  assert.ok(bob2.named(EVENT.CONVERSATION_LIST_UPDATED).length > 0);
  // Revoke: the peer's instances get MESSAGE_REVOKED; the last message shows it.
  const oops = alice.createTextMessage({ to: 'v-bob', payload: { text: 'oops' } });
  await alice.sendMessage(oops);
  await alice.revokeMessage(oops);
  assert.equal(oops.isRevoked, true);
  await until(() => bob2.named(EVENT.MESSAGE_REVOKED).length === 1, 'bob2 sees the revoke');
  assert.equal(bob2.named(EVENT.MESSAGE_REVOKED)[0].data[0].ID, oops.ID);
  await until(() => bob2.getTotalUnreadMessageCount() === 0, 'a revoked message is not unread');
  const afterRevoke = (await fresh.getConversationList()).data.conversationList[0];
  assert.equal(afterRevoke.lastMessage.isRevoked, true);
  for (const x of [alice, bob1, bob2, fresh]) await x.destroy();
});

test('a lost connection: jittered reconnects, login again, the timeline resumes after the last seq', async () => {
  const s = await server();
  const proxy = await proxyTo(s);
  const bob = recordedClient(proxy.url);
  const alice = recordedClient(s.url);
  await alice.login({ userID: 'alice', userSig: sig('alice') });
  await bob.login({ userID: 'bob', userSig: sig('bob'), syncFromSeq: 0 });
  await until(() => bob.isReady(), 'bob ready');
  const send = (text) => alice.sendMessage(alice.createTextMessage({ to: 'bob', payload: { text } }));
  await send('one');
  await until(() => bob.named(EVENT.MESSAGE_RECEIVED).length === 1, 'one');

  proxy.refuse(true);
  proxy.cut();
  await until(() => !bob.isReady(), 'bob sees the loss');
  for (const text of ['two', 'three', 'four']) await send(text);
  const lost = await rejection(bob.sendMessage(bob.createTextMessage({ to: 'alice', payload: { text: 'x' } })));
  assert.equal(lost.code, 2800);
  await sleep(700);  // a few refused attempts
  proxy.refuse(false);
  await until(() => bob.isReady(), 'bob back', 10000);
  await until(() => bob.named(EVENT.MESSAGE_RECEIVED).length === 4, 'the missed messages');
  const texts = bob.named(EVENT.MESSAGE_RECEIVED).map((e) => e.data[0].payload.text);
  assert.deepEqual(texts, ['one', 'two', 'three', 'four']);
  const seqs = bob.named(EVENT.MESSAGE_RECEIVED).map((e) => e.data[0].seq);
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  const states = bob.named(EVENT.NET_STATE_CHANGE).map((e) => e.data.state);
  assert.deepEqual(states.slice(0, 2), [TYPES.NET_STATE_CONNECTED, TYPES.NET_STATE_CONNECTING]);
  assert.equal(states.at(-1), TYPES.NET_STATE_CONNECTED);
  assert.ok(states.includes(TYPES.NET_STATE_DISCONNECTED), 'refused attempts say disconnected');
  assert.equal(bob.named(EVENT.SDK_READY).length, 2);
  assert.equal(bob.named(EVENT.KICKED_OUT).length, 0);
  await send('five');
  await until(() => bob.named(EVENT.MESSAGE_RECEIVED).length === 5, 'live again');
  await alice.destroy();
  await bob.destroy();
  proxy.close();
});

test('after a reconnect, this instance\'s own sends are not MESSAGE_RECEIVED; what others sent is, once', async () => {
  const s = await server();
  const proxy = await proxyTo(s);
  const carol = recordedClient(proxy.url);
  const dave = recordedClient(s.url);
  await carol.login({ userID: 'carol', userSig: sig('carol'), syncFromSeq: 0 });
  await dave.login({ userID: 'dave', userSig: sig('dave') });
  await until(() => carol.isReady() && dave.isReady(), 'ready');
  for (const text of ['mine 1', 'mine 2'])
    await carol.sendMessage(carol.createTextMessage({ to: 'dave', payload: { text } }));
  await dave.sendMessage(dave.createTextMessage({ to: 'carol', payload: { text: 'from dave' } }));
  await until(() => carol.named(EVENT.MESSAGE_RECEIVED).length === 1, 'dave\'s message');
  await carol.sendMessage(carol.createTextMessage({ to: 'dave', payload: { text: 'mine 3' } }));
  proxy.cut();
  await until(() => !carol.isReady(), 'carol sees the loss');
  await until(() => carol.isReady(), 'carol back', 10000);
  await dave.sendMessage(dave.createTextMessage({ to: 'carol', payload: { text: 'after' } }));
  await until(() => carol.named(EVENT.MESSAGE_RECEIVED).length === 2, 'the live one after the reconnect');
  await sleep(300);
  const texts = carol.named(EVENT.MESSAGE_RECEIVED).map((e) => e.data[0].payload.text);
  assert.deepEqual(texts, ['from dave', 'after'], 'no own send came back as received');
  await carol.destroy();
  await dave.destroy();
  proxy.close();
});

test('a syncFromSeq past the server\'s timeline head (a reset store): live messages still arrive', async () => {
  const s = await server();
  const erin = recordedClient(s.url);
  const fred = recordedClient(s.url);
  await fred.login({ userID: 'nudger', userSig: sig('nudger') });
  // A resume point saved against another server, far past this timeline's head.
  await erin.login({ userID: 'resumer', userSig: sig('resumer'), syncFromSeq: 1000 });
  await until(() => erin.isReady() && fred.isReady(), 'ready');
  await fred.sendMessage(fred.createTextMessage({ to: 'resumer', payload: { text: 'are you there?' } }));
  await until(() => erin.named(EVENT.MESSAGE_RECEIVED).length === 1, 'the live message', 3000);
  assert.equal(erin.named(EVENT.MESSAGE_RECEIVED)[0].data[0].payload.text, 'are you there?');
  await erin.destroy();
  await fred.destroy();
});

test('a UserSig that expired while the connection was lost: KICKED_OUT userSigExpired, no more retries', async () => {
  const s = await server();
  const proxy = await proxyTo(s);
  const chat = recordedClient(proxy.url);
  const r = await chat.login({ userID: 'frank', userSig: sig('frank', { expire: 1 }) });
  proxy.refuse(true);
  proxy.cut();
  await sleep(r.data.sigExpireAt - Date.now() + 300);  // past the expiry
  proxy.refuse(false);
  await until(() => chat.named(EVENT.KICKED_OUT).length === 1, 'gives up', 10000);
  assert.equal(chat.named(EVENT.KICKED_OUT)[0].data.type, TYPES.KICKED_OUT_USERSIG_EXPIRED);
  assert.equal(chat.named(EVENT.ERROR)[0].data.code, 70001);
  assert.equal(chat.named(EVENT.SDK_NOT_READY).at(-1).data.reason, 3004);
  assert.equal(chat.getLoginUser(), '');
  await chat.destroy();
  proxy.close();
});

test('logout: SDK_NOT_READY 3005, no reconnect after; logout again rejects 2024', async () => {
  const s = await server();
  const proxy = await proxyTo(s);
  const chat = recordedClient(proxy.url);
  await chat.login({ userID: 'gina', userSig: sig('gina') });
  await until(() => chat.isReady(), 'ready');
  assert.deepEqual(await chat.logout(), { code: 0, data: {} });
  await until(() => chat.named(EVENT.SDK_NOT_READY).length === 1, 'not ready');
  assert.equal(chat.named(EVENT.SDK_NOT_READY)[0].data.reason, 3005);
  assert.equal(chat.getLoginUser(), '');
  proxy.cut();
  await sleep(500);
  assert.equal(chat.named(EVENT.SDK_READY).length, 1, 'no login after a logout');
  assert.equal((await rejection(chat.logout())).code, 2024);
  await chat.destroy();
  proxy.close();
});

test('create() keeps one instance per SDKAppID until destroy(); destroy logs out and closes', async () => {
  const s = await server();
  const chat = ChatdChat.create({ SDKAppID: APP, url: s.url });
  assert.equal(ChatdChat.create({ SDKAppID: APP, url: s.url }), chat);
  const names = [];
  for (const name of [EVENT.SDK_NOT_READY, EVENT.SDK_DESTROY]) chat.on(name, (e) => names.push(e.name));
  await chat.login({ userID: 'hank', userSig: sig('hank') });
  await until(() => chat.isReady(), 'ready');
  assert.deepEqual(await chat.destroy(), { code: 0, data: {} });
  assert.deepEqual(names, [EVENT.SDK_NOT_READY, EVENT.SDK_DESTROY]);
  const online = await s.rest('openim/query_online_status', { To_Account: ['hank'], IsNeedDetail: 1 });
  assert.equal(online.body.QueryResult[0].Detail.length, 0);
  assert.notEqual(ChatdChat.create({ SDKAppID: APP, url: s.url }), chat);
  assert.equal((await rejection(chat.login({ userID: 'hank', userSig: sig('hank') }))).code, 2905);
});
