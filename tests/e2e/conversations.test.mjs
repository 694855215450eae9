// Conversations, unread counts and read marks with the unmodified official
// Web SDK 3.6.6 (getConversationList, CONVERSATION_LIST_UPDATED,
// TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, setMessageRead, MESSAGE_READ_BY_PEER),
// the native protocol and REST, kept from the per-user timelines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, until } from './lib/chatd.mjs';
import { sharedChatd } from './lib/sdk.mjs';

const env = sharedChatd();
const { sdk, native } = env;

const totalUnread = (d) => d.events.filter((e) => e.event === 'TOTAL_UNREAD_MESSAGE_COUNT_UPDATED').at(-1)?.count;

async function conversationOf(d, conversationID) {
  const list = await d.call('getConversationList');
  assert.equal(list.code, 0, JSON.stringify(list));
  return list.conversations.find((c) => c.conversationID === conversationID);
}

test('SDK: a new device\'s conversation list has each peer, its last message, nick, and unread count', async () => {
  const alice = await sdk('cv-alice');
  assert.equal((await alice.call('api', { method: 'updateMyProfile', options: { nick: 'Alice A' } })).code, 0);
  const carol = await native('cv-carol');
  const bob = await sdk('cv-bob');
  for (const text of ['one', 'two', 'three'])
    assert.equal((await alice.call('sendText', { to: 'cv-bob', text })).code, 0);
  assert.equal((await carol.request('sendMessage', { to: 'cv-bob', custom: { data: 'card' } })).code, 0);
  assert.equal((await bob.call('sendText', { to: 'cv-carol', text: 'reply' })).code, 0);
  await until(() => bob.events.filter((e) => e.event === 'MESSAGE_RECEIVED').flatMap((e) => e.messages).length >= 4, 'bob receives');

  const device = await sdk('cv-bob');
  await sleep(500);
  const list = await device.call('getConversationList');
  assert.equal(list.code, 0, JSON.stringify(list));
  const byID = Object.fromEntries(list.conversations.map((c) => [c.conversationID, c]));
  assert.deepEqual(list.conversations.map((c) => c.conversationID), ['C2Ccv-carol', 'C2Ccv-alice'], 'newest first');
  assert.equal(byID['C2Ccv-alice'].unreadCount, 3);
  assert.equal(byID['C2Ccv-alice'].lastMessage.payload.text, 'three');
  assert.equal(byID['C2Ccv-alice'].lastMessage.fromAccount, 'cv-alice');
  assert.equal(byID['C2Ccv-alice'].userProfile.nick, 'Alice A');
  assert.equal(byID['C2Ccv-carol'].unreadCount, 1, 'bob\'s reply does not read carol\'s card');
  assert.equal(byID['C2Ccv-carol'].lastMessage.payload.text, 'reply');
  assert.equal(byID['C2Ccv-carol'].lastMessage.fromAccount, 'cv-bob');
  assert.equal(totalUnread(device), 4);
  assert.deepEqual(device.events.filter((e) => e.event === 'ERROR'), []);
});

test('SDK: setMessageRead clears the conversation on every instance, and the sender sees it read', async () => {
  const alice = await sdk('cr-alice');
  const bob1 = await sdk('cr-bob');
  const bob2 = await sdk('cr-bob');
  for (const text of ['a', 'b'])
    assert.equal((await alice.call('sendText', { to: 'cr-bob', text })).code, 0);
  await until(() => totalUnread(bob1) === 2 && totalUnread(bob2) === 2, () => `both bobs count 2 unread: ${totalUnread(bob1)} ${totalUnread(bob2)} ${JSON.stringify(bob2.events)}`);
  const read = await bob1.call('api', { method: 'setMessageRead', options: { conversationID: 'C2Ccr-alice' } });
  assert.equal(read.code, 0, JSON.stringify(read));
  await until(() => totalUnread(bob1) === 0, 'the reading instance');
  await until(() => totalUnread(bob2) === 0, 'the other instance of bob');
  await alice.waitEvent('MESSAGE_READ_BY_PEER');
  const later = await sdk('cr-bob');
  await sleep(500);
  assert.equal((await conversationOf(later, 'C2Ccr-alice')).unreadCount, 0, 'a new device: read');
  assert.equal(totalUnread(later) ?? 0, 0);
  // A message after the mark is unread again.
  assert.equal((await alice.call('sendText', { to: 'cr-bob', text: 'c' })).code, 0);
  await until(() => totalUnread(bob2) === 1, 'one new unread');
});

test('native: getConversationList and setMessageRead; REST get_list, get_c2c_unread_msg_num, admin_set_msg_read', async () => {
  const dan = await native('cn-dan');
  const erin = await native('cn-erin');
  for (const text of ['x', 'y'])
    assert.equal((await dan.request('sendMessage', { to: 'cn-erin', text })).code, 0);
  const list = await erin.request('getConversationList', {});
  assert.equal(list.code, 0, JSON.stringify(list));
  assert.equal(list.data.conversations.length, 1);
  const [c] = list.data.conversations;
  assert.equal(c.userID, 'cn-dan');
  assert.equal(c.unreadCount, 2);
  assert.equal(c.lastMessage.text, 'y');
  assert.equal(list.data.totalUnreadCount, 2);
  const unread = await env.chatd.rest('openim/get_c2c_unread_msg_num', { To_Account: 'cn-erin' });
  assert.equal(unread.body.ErrorCode, 0, JSON.stringify(unread.body));
  assert.equal(unread.body.AllC2CUnreadMsgNum, 2);
  const mark = await erin.request('setMessageRead', { userID: 'cn-dan' });
  assert.equal(mark.code, 0, JSON.stringify(mark));
  assert.equal(mark.data.unreadCount, 0);
  const notice = await dan.waitEvent('messageReadByPeer');
  assert.equal(notice.data.userID, 'cn-erin');
  assert.ok(notice.data.readTime >= list.data.conversations[0].lastMessage.time);
  assert.equal((await dan.request('sendMessage', { to: 'cn-erin', text: 'z' })).code, 0);
  const rest = await env.chatd.rest('recentcontact/get_list', { From_Account: 'cn-erin', TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0, AssistFlags: 15 });
  assert.equal(rest.body.ErrorCode, 0, JSON.stringify(rest.body));
  assert.equal(rest.body.CompleteFlag, 1);
  assert.deepEqual(rest.body.SessionItem.map((i) => [i.Type, i.To_Account, i.UnreadMsgCount]), [[1, 'cn-dan', 1]]);
  const set = await env.chatd.rest('openim/admin_set_msg_read', { Report_Account: 'cn-erin', Peer_Account: 'cn-dan' });
  assert.equal(set.body.ErrorCode, 0, JSON.stringify(set.body));
  assert.equal((await env.chatd.rest('openim/get_c2c_unread_msg_num', { To_Account: 'cn-erin' })).body.AllC2CUnreadMsgNum, 0);
});
