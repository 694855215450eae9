// Revoke: the unmodified official Web SDK 3.6.6 (revokeMessage,
// MESSAGE_REVOKED, isRevoked in getMessageList and in the conversation's
// last message), native revokeMessage, REST openim/admin_msgwithdraw, and
// the app's revoke window, against a real chatd. The text is gone from the
// store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig, loggedInClient, sleep, until } from './lib/chatd.mjs';
import { sharedChatd } from './lib/sdk.mjs';

const env = sharedChatd();
const { sdk, native, servers } = env;

test('SDK: revokeMessage reaches the peer and the sender\'s other instance; history, the conversation and the store show it revoked', async () => {
  const alice = await sdk('rv-alice');
  const aliceToo = await sdk('rv-alice');
  const bob = await sdk('rv-bob');
  const carol = await native('rv-bob');
  const sent = await alice.call('sendText', { to: 'rv-bob', text: 'a secret' });
  assert.equal(sent.code, 0, JSON.stringify(sent));
  await bob.waitEvent('MESSAGE_RECEIVED');
  await until(() => (bob.events.filter((e) => e.event === 'TOTAL_UNREAD_MESSAGE_COUNT_UPDATED').at(-1)?.count) === 1, 'one unread');
  const revoked = await alice.call('revoke', { ID: sent.message.ID });
  assert.equal(revoked.code, 0, JSON.stringify(revoked));
  assert.equal(revoked.message.isRevoked, true);
  const seen = await bob.waitEvent('MESSAGE_REVOKED');
  assert.deepEqual(seen.messages.map((m) => [m.ID, m.isRevoked]), [[sent.message.ID, true]]);
  const other = await aliceToo.waitEvent('MESSAGE_REVOKED');
  assert.equal(other.messages[0].ID, sent.message.ID);
  const event = (await carol.waitEvent('messageRevoked')).data;
  assert.deepEqual([event.from, event.to, event.messageID, event.seq], ['rv-alice', 'rv-bob', sent.message.ID ? event.messageID : '', 1]);
  await until(() => (bob.events.filter((e) => e.event === 'TOTAL_UNREAD_MESSAGE_COUNT_UPDATED').at(-1)?.count) === 0, 'no longer unread');
  // A new device: isRevoked in history and in the conversation's last message; nothing unread.
  const device = await sdk('rv-bob');
  const history = await device.call('getMessageList', { conversationID: 'C2Crv-alice' });
  assert.deepEqual(history.messages.map((m) => [m.ID, m.isRevoked]), [[sent.message.ID, true]]);
  const list = await device.call('getConversationList');
  const c = list.conversations.find((x) => x.conversationID === 'C2Crv-alice');
  assert.equal(c.lastMessage.isRevoked, true);
  assert.equal(c.unreadCount, 0);
  // The text is gone from the store.
  const roam = await env.chatd.rest('openim/admin_getroammsg', { Operator_Account: 'rv-bob', Peer_Account: 'rv-alice', MaxCnt: 10 });
  assert.deepEqual(roam.body.MsgList.map((i) => [i.MsgBody, i.MsgFlagBits]),
    [[[{ MsgType: 'TIMTextElem', MsgContent: { Text: '' } }], 8]]);
  for (const d of [alice, aliceToo, bob, device]) assert.deepEqual(d.events.filter((e) => e.event === 'ERROR'), []);
});

test('native revokeMessage within the window; after it 20016; REST admin_msgwithdraw has no window', async () => {
  const s = await startChatd({ apps: [appConfig({ max_web_instances: 3, message_revoke_window_s: 1 })] });
  servers.push(s);
  const dan = await loggedInClient(s, 'rw-dan');
  const erin = await loggedInClient(s, 'rw-erin');
  const first = await dan.request('sendMessage', { to: 'rw-erin', text: 'one' });
  assert.equal((await dan.request('revokeMessage', { to: 'rw-erin', messageID: first.data.messageID })).code, 0);
  const event = (await erin.waitEvent('messageRevoked')).data;
  assert.deepEqual([event.from, event.messageID, event.seq], ['rw-dan', first.data.messageID, first.data.seq]);
  assert.equal((await dan.request('revokeMessage', { to: 'rw-erin', messageID: 'no-such' })).code, 2017);
  assert.equal((await erin.request('revokeMessage', { to: 'rw-erin', messageID: first.data.messageID })).code, 2017, 'only the sender');
  const second = await dan.request('sendMessage', { to: 'rw-erin', text: 'two' });
  await sleep(2100);
  assert.equal((await dan.request('revokeMessage', { to: 'rw-erin', messageID: second.data.messageID })).code, 20016);
  const rest = await s.rest('openim/admin_msgwithdraw', { From_Account: 'rw-dan', To_Account: 'rw-erin', MsgKey: second.data.messageID });
  assert.equal(rest.body.ErrorCode, 0, JSON.stringify(rest.body));
  const later = await loggedInClient(s, 'rw-erin', { syncFromSeq: 0 });
  await until(() => later.events.filter((e) => e.event === 'messageReceived').length === 2, 'the sync');
  assert.deepEqual(later.events.filter((e) => e.event === 'messageReceived').map((e) => [e.data.text, e.data.revoked]),
    [['', true], ['', true]]);
  const missing = await s.rest('openim/admin_msgwithdraw', { From_Account: 'rw-dan', To_Account: 'rw-erin', MsgKey: 'nope' });
  assert.equal(missing.body.ErrorCode, 70402);
});
