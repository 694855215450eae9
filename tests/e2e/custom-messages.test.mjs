// Custom messages (Tencent's TIMCustomElem: data, description, extension)
// and online-only messages (the SDK's `onlineUserOnly`, Tencent REST
// MsgLifeTime 0: how TUIKit's typing status travels), over the native
// protocol, REST and the unmodified official Web SDK 3.6.6, against a real
// chatd. Custom messages are stored and synced like text; online-only ones
// reach the recipient's online instances and nothing else, ever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './lib/chatd.mjs';
import { sharedChatd } from './lib/sdk.mjs';

const env = sharedChatd();
const { sdk, native } = env;

const received = (c) => c.events.filter((e) => e.event === 'messageReceived').map((e) => e.data);
const sdkReceived = (d) => d.events.filter((e) => e.event === 'MESSAGE_RECEIVED').flatMap((e) => e.messages);
const typing = JSON.stringify({ businessID: 'user_typing_status', typingStatus: 1 });

test('native: a custom message is stored and delivered with its three fields; a sync brings it back', async () => {
  const alice = await native('cn-alice');
  const bob = await native('cn-bob');
  const custom = { data: '{"card":1}', description: 'a card', extension: 'ext-1' };
  const r = await alice.request('sendMessage', { to: 'cn-bob', custom, clientMsgID: 'cn-1' });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.ok(r.data.seq > 0, 'stored: a seq in the recipient\'s timeline');
  const live = (await bob.waitEvent('messageReceived')).data;
  assert.deepEqual(live.custom, custom);
  assert.equal(live.text, '');
  assert.equal(live.onlineOnly, undefined);
  assert.equal(live.seq, r.data.seq);
  // Only data given: the other fields are empty strings.
  assert.equal((await alice.request('sendMessage', { to: 'cn-bob', custom: { data: 'x' } })).code, 0);
  const later = await native('cn-bob', { syncFromSeq: 0 });
  await sleep(300);
  const synced = received(later);
  assert.deepEqual(synced.map((m) => m.custom), [custom, { data: 'x', description: '', extension: '' }]);
});

test('native: bad custom sends get 80002 (or 2017) and the connection stays usable', async () => {
  const alice = await native('cb-alice');
  await native('cb-bob');
  const bad = [
    [{ to: 'cb-bob', text: 'both', custom: { data: 'x' } }, 80002],
    [{ to: 'cb-bob' }, 80002],
    [{ to: 'cb-bob', custom: {} }, 80002],
    [{ to: 'cb-bob', custom: 'x' }, 80002],
    [{ to: 'cb-bob', custom: { data: 7 } }, 80002],
    [{ to: 'cb-bob', custom: { data: 'a'.repeat(6 * 1024), extension: 'b'.repeat(6 * 1024 + 1) } }, 80002],
    [{ to: 'cb-bob', text: 'x', onlineOnly: 'yes' }, 2017],
  ];
  for (const [data, code] of bad) {
    const r = await alice.request('sendMessage', data);
    assert.equal(r.code, code, JSON.stringify(data));
  }
  const limit = { data: 'a'.repeat(6 * 1024), extension: 'b'.repeat(6 * 1024) };
  assert.equal((await alice.request('sendMessage', { to: 'cb-bob', custom: limit })).code, 0, '12 KiB exactly');
});

test('native: an online-only message reaches the online instances of the recipient only, and is never stored', async () => {
  const alice1 = await native('co-alice');
  const alice2 = await native('co-alice');
  const bob1 = await native('co-bob');
  const bob2 = await native('co-bob');
  const r = await alice1.request('sendMessage', { to: 'co-bob', custom: { data: typing }, onlineOnly: true });
  assert.equal(r.code, 0, JSON.stringify(r));
  for (const bob of [bob1, bob2]) {
    const m = (await bob.waitEvent('messageReceived')).data;
    assert.equal(m.onlineOnly, true);
    assert.equal(m.seq, 0, 'in no timeline');
    assert.equal(m.custom.data, typing);
    assert.equal(m.flow, 'in');
    assert.equal(m.from, 'co-alice');
  }
  assert.equal((await alice1.request('sendMessage', { to: 'co-bob', text: 'stored', onlineOnly: false })).code, 0);
  await sleep(300);
  assert.deepEqual(received(alice2).map((m) => m.text), ['stored'], 'the sender\'s other instance gets no online-only copy');
  // The timeline holds the stored one only: seq 1 in both timelines.
  const bobLater = await native('co-bob', { syncFromSeq: 0 });
  const aliceLater = await native('co-alice', { syncFromSeq: 0 });
  await sleep(300);
  assert.deepEqual(received(bobLater).map((m) => [m.seq, m.text]), [[1, 'stored']]);
  assert.deepEqual(received(aliceLater).map((m) => [m.seq, m.text]), [[1, 'stored']]);
  // Nobody online: an online-only message goes nowhere and is still answered.
  assert.equal((await alice1.request('sendMessage', { to: 'co-carol', text: 'x', onlineOnly: true })).code, 20003);
  const carol = await native('co-carol');
  carol.close();
  await sleep(200);
  assert.equal((await alice1.request('sendMessage', { to: 'co-carol', text: 'typing', onlineOnly: true })).code, 0);
  const carolLater = await native('co-carol', { syncFromSeq: 0 });
  await sleep(300);
  assert.deepEqual(received(carolLater), [], 'an online-only message to an offline user is gone');
});

test('REST: sendmsg takes one TIMCustomElem (and MsgLifeTime 0), admin_getroammsg gives it back', async () => {
  const bob = await native('cr-bob');
  const r = await env.chatd.rest('openim/sendmsg', {
    To_Account: 'cr-bob', MsgRandom: 7,
    MsgBody: [{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'd', Desc: 'desc', Ext: 'e' } }],
  });
  assert.equal(r.body.ErrorCode, 0, JSON.stringify(r.body));
  const m = (await bob.waitEvent('messageReceived')).data;
  assert.deepEqual(m.custom, { data: 'd', description: 'desc', extension: 'e' });
  const online = await env.chatd.rest('openim/sendmsg', {
    To_Account: 'cr-bob', MsgLifeTime: 0, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'now only' } }],
  });
  assert.equal(online.body.ErrorCode, 0, JSON.stringify(online.body));
  await sleep(300);
  assert.deepEqual(received(bob).map((e) => [e.text, e.onlineOnly === true]), [['', false], ['now only', true]]);
  const mixed = await env.chatd.rest('openim/sendmsg', {
    To_Account: 'cr-bob',
    MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'a' } }, { MsgType: 'TIMCustomElem', MsgContent: { Data: 'd' } }],
  });
  assert.equal(mixed.body.ErrorCode, 80002, 'a custom element beside another is refused');
  const roam = await env.chatd.rest('openim/admin_getroammsg', { Operator_Account: 'cr-bob', Peer_Account: 'administrator', MaxCnt: 10 });
  assert.equal(roam.body.ErrorCode, 0, JSON.stringify(roam.body));
  assert.deepEqual(roam.body.MsgList.map((i) => i.MsgBody), [
    [{ MsgType: 'TIMCustomElem', MsgContent: { Data: 'd', Desc: 'desc', Ext: 'e' } }],
  ], 'the online-only message is not in the history');
});

test('SDK 3.6.6: createCustomMessage to the SDK and to native; history and a new device show it as custom', async () => {
  const alice = await sdk('cs-alice');
  const bob = await sdk('cs-bob');
  const carol = await native('cs-carol');
  const sent = await alice.call('sendCustom', { to: 'cs-bob', data: '{"order":42}', description: 'order', extension: 'x' });
  assert.equal(sent.code, 0, JSON.stringify(sent));
  assert.equal(sent.status, 'success');
  const got = (await bob.waitEvent('MESSAGE_RECEIVED')).messages[0];
  assert.equal(got.type, 'TIMCustomElem');
  assert.deepEqual([got.data, got.description, got.extension], ['{"order":42}', 'order', 'x']);
  assert.equal(got.ID, sent.message.ID);
  assert.equal((await alice.call('sendCustom', { to: 'cs-carol', data: 'to native' })).code, 0);
  assert.equal((await carol.waitEvent('messageReceived')).data.custom.data, 'to native');
  assert.equal((await carol.request('sendMessage', { to: 'cs-alice', custom: { data: 'from native', description: 'd' } })).code, 0);
  await alice.waitEvent('MESSAGE_RECEIVED');
  const fromNative = sdkReceived(alice).find((m) => m.from === 'cs-carol');
  assert.deepEqual([fromNative.type, fromNative.data, fromNative.description], ['TIMCustomElem', 'from native', 'd']);
  const device = await sdk('cs-bob');
  const history = await device.call('getMessageList', { conversationID: 'C2Ccs-alice' });
  assert.equal(history.code, 0, JSON.stringify(history));
  assert.deepEqual(history.messages.map((m) => [m.type, m.data, m.flow]), [['TIMCustomElem', '{"order":42}', 'in']]);
});

test('SDK 3.6.6: typing status (onlineUserOnly) reaches the online peer, never history nor a later login', async () => {
  const alice = await sdk('ct-alice');
  const bob = await sdk('ct-bob');
  const sent = await alice.call('sendCustom', { to: 'ct-bob', data: typing, onlineUserOnly: true });
  assert.equal(sent.code, 0, JSON.stringify(sent));
  assert.equal(sent.status, 'success');
  const got = (await bob.waitEvent('MESSAGE_RECEIVED')).messages[0];
  assert.equal(got.data, typing);
  await sleep(300);
  // The SDK knows it for online-only (MsgLifeTime 0): not unread, not the last message.
  assert.equal((await bob.call('api', { method: 'getTotalUnreadMessageCount' })).data, 0);
  const conversations = await bob.call('getConversationList');
  assert.ok(conversations.conversations.every((c) => c.lastMessage?.payload?.data !== typing), JSON.stringify(conversations));
  assert.equal((await alice.call('sendText', { to: 'ct-bob', text: 'after typing' })).code, 0);
  await sleep(300);
  for (const d of [alice, bob]) {
    assert.deepEqual(d.events.filter((e) => e.event === 'ERROR'), [], 'no SDK error');
  }
  const device = await sdk('ct-bob');
  const history = await device.call('getMessageList', { conversationID: 'C2Cct-alice' });
  assert.deepEqual(history.messages.map((m) => [m.type, m.text]), [['TIMTextElem', 'after typing']]);
  await sleep(300);
  assert.ok(sdkReceived(device).every((m) => m.data !== typing), 'a later login never gets it');
});
