// Messages with the unmodified official Web SDK (@tencentcloud/chat 3.6.6,
// pinned), one Node process per device, against a real chatd; SDK and
// native instances are the same users on the same timelines.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, appConfig, Client, sig, sleep, APP, until } from './lib/chatd.mjs';
import { SdkDevice } from './lib/sdk.mjs';

let chatd;
const devices = [];
before(async () => { chatd = await startChatd({ apps: [appConfig({ max_web_instances: 3 })] }); });
after(async () => {
  await Promise.all(devices.map((d) => d.stop()));
  await chatd.stop();
});

async function loggedIn(user) {
  const d = SdkDevice.start(chatd, APP);
  devices.push(d);
  const r = await d.call('login', { userID: user, userSig: sig(user) });
  assert.equal(r.code, 0, JSON.stringify(r));
  await d.waitEvent('SDK_READY');
  return d;
}

async function native(user) {
  const c = await Client.connect(chatd.url);
  assert.equal((await c.login(user)).code, 0);
  return c;
}

function texts(d) {
  return d.events.filter((e) => e.event === 'MESSAGE_RECEIVED').flatMap((e) => e.messages.map((m) => m.text));
}

test('SDK to SDK: sendMessage resolves with success, the recipient gets MESSAGE_RECEIVED with the same ID', async () => {
  const alice = await loggedIn('sm-alice');
  const bob = await loggedIn('sm-bob');
  const sent = await alice.call('sendText', { to: 'sm-bob', text: 'hello from the SDK' });
  assert.equal(sent.code, 0, JSON.stringify(sent));
  assert.equal(sent.status, 'success');
  assert.ok(Math.abs(sent.message.time - Date.now() / 1000) < 5, 'message.time is the server\'s MsgTime');
  const got = await bob.waitEvent('MESSAGE_RECEIVED');
  assert.equal(got.messages.length, 1);
  const m = got.messages[0];
  assert.equal(m.text, 'hello from the SDK');
  assert.equal(m.from, 'sm-alice');
  assert.equal(m.flow, 'in');
  assert.equal(m.conversationID, 'C2Csm-alice');
  assert.equal(m.ID, sent.message.ID, 'the same message ID on both sides');
  await sleep(200);
  assert.deepEqual(texts(alice), [], 'no echo to the sending instance');
});

test('SDK to native and back', async () => {
  const alice = await loggedIn('sn-alice');
  const carol = await native('sn-carol');
  assert.equal((await alice.call('sendText', { to: 'sn-carol', text: 'to native' })).status, 'success');
  const m = (await carol.waitEvent('messageReceived')).data;
  assert.equal(m.text, 'to native');
  assert.equal(m.from, 'sn-alice');
  assert.equal(m.flow, 'in');
  assert.equal((await carol.request('sendMessage', { to: 'sn-alice', text: 'to the SDK' })).code, 0);
  const back = await alice.waitEvent('MESSAGE_RECEIVED');
  assert.equal(back.messages[0].text, 'to the SDK');
  assert.equal(back.messages[0].from, 'sn-carol');
  assert.equal(back.messages[0].flow, 'in');
  carol.close();
});

test('offline messages arrive after the next login, after SDK_READY, once', async () => {
  const alice = await native('so-alice');
  assert.equal((await chatd.rest('im_open_login_svc/account_import', { UserID: 'so-bob' })).body.ErrorCode, 0);
  for (const text of ['one', 'two', 'three'])
    assert.equal((await alice.request('sendMessage', { to: 'so-bob', text })).code, 0);
  const bob = await loggedIn('so-bob');
  await until(() => texts(bob).length >= 3, 'the offline messages');
  assert.deepEqual(texts(bob), ['one', 'two', 'three']);
  const ready = bob.events.findIndex((e) => e.event === 'SDK_READY');
  const first = bob.events.findIndex((e) => e.event === 'MESSAGE_RECEIVED');
  assert.ok(ready < first, 'after SDK_READY');
  // Live messages flow after the sync, and a new SDK login does not see them again.
  await alice.request('sendMessage', { to: 'so-bob', text: 'four' });
  await until(() => texts(bob).length === 4, 'the live message');
  await bob.stop();
  const again = await loggedIn('so-bob');
  await sleep(1000);
  assert.deepEqual(texts(again), [], 'delivered messages are not offline messages');
  alice.close();
});

// A message the user sent that no instance of theirs has had (sent from a
// native client, or from this very device just before its sync) comes in
// the login's online sync, whose reply the SDK reads as written (it swaps
// only pushes' sync copies): it must show as the user's own, not the peer's.
test('a sync of the user\'s own message shows it out, from the user', async () => {
  const alice = await native('ss-alice');
  assert.equal((await chatd.rest('im_open_login_svc/account_import', { UserID: 'ss-bob' })).body.ErrorCode, 0);
  assert.equal((await alice.request('sendMessage', { to: 'ss-bob', text: 'mine' })).code, 0);
  const device = await loggedIn('ss-alice');
  const synced = await device.waitEvent('MESSAGE_RECEIVED');
  assert.deepEqual(synced.messages.map((m) => [m.text, m.from, m.to, m.flow, m.conversationID]),
    [['mine', 'ss-alice', 'ss-bob', 'out', 'C2Css-bob']]);
  alice.close();
});

test('the sender\'s other SDK instance gets the copy with flow out', async () => {
  const a1 = await loggedIn('sc-alice');
  const a2 = await loggedIn('sc-alice');
  await loggedIn('sc-bob');
  const sent = await a1.call('sendText', { to: 'sc-bob', text: 'copied' });
  assert.equal(sent.status, 'success');
  const copy = await a2.waitEvent('MESSAGE_RECEIVED');
  const m = copy.messages[0];
  assert.equal(m.text, 'copied');
  assert.equal(m.from, 'sc-alice');
  assert.equal(m.to, 'sc-bob');
  assert.equal(m.flow, 'out');
  assert.equal(m.conversationID, 'C2Csc-bob');
  assert.equal(m.ID, sent.message.ID);
});

test('getMessageList on a new device: the user\'s own messages are out, from the user; the peer\'s in', async () => {
  const alice = await loggedIn('fl-alice');
  const bob = await native('fl-bob');
  assert.equal((await alice.call('sendText', { to: 'fl-bob', text: 'o1' })).status, 'success');
  await bob.waitEvent('messageReceived');
  assert.equal((await bob.request('sendMessage', { to: 'fl-alice', text: 'i1' })).code, 0);
  await alice.waitEvent('MESSAGE_RECEIVED');
  assert.equal((await alice.call('sendText', { to: 'fl-bob', text: 'o2' })).status, 'success');
  // A second device of alice's, with nothing cached: the history is the server's.
  const phone = await loggedIn('fl-alice');
  const list = await phone.call('getMessageList', { conversationID: 'C2Cfl-bob' });
  assert.equal(list.code, 0, JSON.stringify(list));
  assert.deepEqual(list.messages.map((m) => [m.text, m.flow, m.from]),
    [['o1', 'out', 'fl-alice'], ['i1', 'in', 'fl-bob'], ['o2', 'out', 'fl-alice']]);
  assert.ok(list.messages.every((m) => m.conversationID === 'C2Cfl-bob'));
  bob.close();
});

test('getMessageList pages as TUIKit does (count 15, nextReqMessageID) through a 40-message history', async () => {
  await chatd.rest('im_open_login_svc/account_import', { UserID: 'pg-alice' });
  const bob = await native('pg-bob');
  for (let i = 0; i < 40; ++i)
    assert.equal((await bob.request('sendMessage', { to: 'pg-alice', text: `p${i}` })).code, 0);
  const alice = await loggedIn('pg-alice');
  const pages = [];
  let next;
  for (let page = 0; page < 4; ++page) {
    const r = await alice.call('getMessageList', { conversationID: 'C2Cpg-bob', nextReqMessageID: next });
    assert.equal(r.code, 0, JSON.stringify(r));
    pages.push(r);
    if (r.isCompleted) break;
    next = r.nextReqMessageID;
  }
  assert.deepEqual(pages.map((p) => p.messages.length), [15, 15, 10]);
  assert.deepEqual(pages.map((p) => p.isCompleted), [false, false, true]);
  // Each page oldest first, each older than the one before: all 40 once, in order.
  const all = pages.reverse().flatMap((p) => p.messages.map((m) => m.text));
  assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => `p${i}`));
  assert.ok(pages.flatMap((p) => p.messages).every((m) => m.flow === 'in' && m.from === 'pg-bob'));
  bob.close();
});

test('getMessageList shows the conversation\'s history from the server', async () => {
  const bob = await native('sh-bob');
  // sh-alice does not exist yet: refused; make her, then send.
  assert.equal((await bob.request('sendMessage', { to: 'sh-alice', text: 'h0' })).code, 20003);
  await chatd.rest('im_open_login_svc/account_import', { UserID: 'sh-alice' });
  for (const text of ['h1', 'h2', 'h3'])
    assert.equal((await bob.request('sendMessage', { to: 'sh-alice', text })).code, 0);
  const alice = await loggedIn('sh-alice');
  const list = await alice.call('getMessageList', { conversationID: 'C2Csh-bob' });
  assert.equal(list.code, 0, JSON.stringify(list));
  const history = list.messages.map((m) => m.text).filter((t) => t.startsWith('h'));
  assert.deepEqual(history, ['h1', 'h2', 'h3']);
  assert.ok(list.messages.every((m) => m.from === 'sh-bob' && m.flow === 'in'));
  bob.close();
});

test('TUIKit\'s start-up calls of an app with no friends, groups or blacklist resolve without an SDK error', async () => {
  const alice = await loggedIn('tk-alice');
  const answers = {};
  for (const method of ['getFriendList', 'getGroupList', 'getBlacklist', 'getConversationList',
    'getTotalUnreadMessageCount'])
    answers[method] = await alice.call('api', { method });
  for (const [method, r] of Object.entries(answers)) assert.equal(r.code, 0, `${method}: ${JSON.stringify(r)}`);
  assert.deepEqual(answers.getFriendList.data, []);
  assert.deepEqual(answers.getBlacklist.data, []);
  assert.deepEqual(answers.getGroupList.data.groupList, []);
  assert.equal(answers.getTotalUnreadMessageCount.data, 0);
  assert.ok(!alice.events.some((e) => e.event === 'ERROR'), JSON.stringify(alice.events));
});
