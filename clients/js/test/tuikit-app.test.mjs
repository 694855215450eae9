// A page in Debian's headless chromium that runs the unmodified official
// Web SDK (@tencentcloud/chat 3.6.6, the same file tests/e2e pins) against
// chatd and does what Tencent's TUIKit does at start-up and on the first
// conversation: profile, conversation list, friends, groups, blacklist,
// unread total; open the conversation (peer profile, history, read); type
// (an online-only typing status), send, revoke. Passes only with no SDK
// ERROR event, no rejected call and no unhandled rejection in the page; the
// peer (a native client) sees the receipt, the typing status, the message
// and the revoke. A screenshot goes to the test artifacts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startChatd, stopAll, sig, APP, KEY, until, CHROMIUM, launchChromium, closeChromium } from './helpers.mjs';
import { Client } from '../../../tests/e2e/lib/chatd.mjs';

const SDK = fileURLToPath(new URL('../../../tests/e2e/node_modules/@tencentcloud/chat/index.js', import.meta.url));
const servers = [];
let browser;
let site;
after(async () => {
  await closeChromium(browser);
  site?.close();
  await stopAll(servers);
});

// What the app does, in the page (TencentCloudChat is the SDK's global).
const APP_SCRIPT = `
window.runApp = async ({ SDKAppID, proxyServer, userID, userSig, peer }) => {
  const E = TencentCloudChat.EVENT;
  const chat = TencentCloudChat.create({ SDKAppID, proxyServer });
  chat.setLogLevel(4);
  const errors = [];
  const calls = [];
  chat.on(E.ERROR, (e) => errors.push('ERROR ' + e.data?.code + ' ' + e.data?.message));
  window.addEventListener('unhandledrejection', (e) => errors.push('unhandled ' + (e.reason?.code ?? e.reason)));
  const call = async (name, promise) => {
    try { const r = await promise; calls.push(name); return r; }
    catch (e) { errors.push(name + ': ' + e.code + ' ' + e.message); return null; }
  };
  const ready = new Promise((resolve) => chat.on(E.SDK_READY, resolve));
  await call('login', chat.login({ userID, userSig }));
  await ready;
  // Start-up (TUIKit's TUIConversation, TUIContact and its profile hook).
  await call('getMyProfile', chat.getMyProfile());
  await call('updateMyProfile', chat.updateMyProfile({ nick: 'Alice', avatar: 'https://example.test/alice.png' }));
  const conversations = await call('getConversationList', chat.getConversationList());
  await call('getFriendList', chat.getFriendList());
  await call('getGroupList', chat.getGroupList());
  await call('getBlacklist', chat.getBlacklist());
  // The SDK counts a conversation in its total once it has asked for its
  // notification setting (a request of its own after the list), and the
  // unread counts come with the login's sync, which may be answered before
  // or after SDK_READY: TUIKit shows both from the SDK's events
  // (TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, CONVERSATION_LIST_UPDATED), so the
  // app waits for the total, then reads the list as those events have it.
  const unreadAtStart = await new Promise((resolve) => {
    const settled = () => chat.getTotalUnreadMessageCount() > 0;
    if (settled()) return resolve(chat.getTotalUnreadMessageCount());
    const timer = setTimeout(() => resolve(chat.getTotalUnreadMessageCount()), 5000);
    chat.on(E.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, () => {
      if (settled()) { clearTimeout(timer); resolve(chat.getTotalUnreadMessageCount()); }
    });
  });
  // The first conversation.
  const conversation = (await chat.getConversationList()).data.conversationList[0];
  const unreadOfFirst = conversation.unreadCount;  // the object is live: read it before reading the messages
  const profile = await call('getUserProfile', chat.getUserProfile({ userIDList: [peer] }));
  const history = await call('getMessageList', chat.getMessageList({ conversationID: conversation.conversationID }));
  await call('setMessageRead', chat.setMessageRead({ conversationID: conversation.conversationID }));
  const typing = JSON.stringify({ businessID: 'user_typing_status', typingStatus: 1, version: 1,
    userAction: 14, actionParam: 'EIMAMSG_InputStatus_Ing' });
  await call('typing', chat.sendMessage(chat.createCustomMessage({ to: peer,
    conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { data: typing } }), { onlineUserOnly: true }));
  const sent = await call('sendMessage', chat.sendMessage(chat.createTextMessage({ to: peer,
    conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { text: 'hello from the app' } })));
  await call('revokeMessage', chat.revokeMessage(sent.data.message));
  const after = await call('getMessageList', chat.getMessageList({ conversationID: conversation.conversationID }));
  // What the app shows.
  document.getElementById('me').textContent = 'Alice';
  const list = document.getElementById('conversations');
  for (const c of (await chat.getConversationList()).data.conversationList) {
    const li = document.createElement('li');
    li.textContent = (c.userProfile.nick || c.userProfile.userID) + ' · ' +
      (c.lastMessage.isRevoked ? 'a message was recalled' : c.lastMessage.messageForShow) + ' · unread ' + c.unreadCount;
    list.append(li);
  }
  const messages = document.getElementById('messages');
  for (const m of after.data.messageList) {
    const li = document.createElement('li');
    li.textContent = (m.flow === 'in' ? m.from : 'me') + ': ' + (m.isRevoked ? '(recalled)' : m.payload.text);
    messages.append(li);
  }
  return {
    errors, calls, unreadAtStart, unreadAtEnd: chat.getTotalUnreadMessageCount(),
    conversation: { id: conversation.conversationID, unread: unreadOfFirst, nick: conversation.userProfile.nick },
    peerNick: profile.data[0]?.nick,
    history: history.data.messageList.map((m) => [m.flow, m.payload.text]),
    after: after.data.messageList.map((m) => [m.flow, m.isRevoked]),
    sentID: sent.data.message.ID,
  };
};`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>a TUIKit-like app</title>
<style>body{font:14px sans-serif;margin:16px}li{padding:4px 0}</style></head>
<body><h1>Chat as <span id="me">…</span></h1><h2>Conversations</h2><ul id="conversations"></ul>
<h2>Messages</h2><ul id="messages"></ul>
<script src="/sdk.js"></script><script src="/app.js"></script></body></html>`;

function serveApp() {
  const sdk = readFileSync(SDK);
  const server = http.createServer((req, res) => {
    const routes = { '/': ['text/html', PAGE], '/sdk.js': ['text/javascript', sdk], '/app.js': ['text/javascript', APP_SCRIPT] };
    const route = routes[req.url];
    if (!route) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': route[0] }).end(route[1]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('a TUIKit-like app on the official SDK in chromium: start-up and the first conversation, no SDK error', async () => {
  assert.ok(CHROMIUM, 'chromium is installed (scripts/install-deps.sh)');
  const s = await startChatd({ apps: [{ sdkappid: APP, secret_key: KEY, max_web_instances: 2 }] });
  servers.push(s);
  // Bob, a native client, has written to Alice before she opens the app.
  const bob = await Client.connect(s.url);
  assert.equal((await bob.login('tk-bob')).code, 0);
  assert.equal((await bob.request('updateMyProfile', { profile: { Tag_Profile_IM_Nick: 'Bob' } })).code, 0);
  assert.equal((await s.rest('im_open_login_svc/account_import', { UserID: 'tk-alice' })).body.ErrorCode, 0);
  for (const text of ['hi Alice', 'are you there?'])
    assert.equal((await bob.request('sendMessage', { to: 'tk-alice', text })).code, 0);

  site = await serveApp();
  browser = await launchChromium();
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.setViewport({ width: 390, height: 700 });
  await page.goto(`http://127.0.0.1:${site.address().port}/`, { waitUntil: 'load' });
  const report = await page.evaluate((args) => window.runApp(args),
    { SDKAppID: APP, proxyServer: `ws://${s.gateway}`, userID: 'tk-alice', userSig: sig('tk-alice'), peer: 'tk-bob' });

  assert.deepEqual(report.errors, [], 'no SDK error and no rejected promise');
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(report.calls, ['login', 'getMyProfile', 'updateMyProfile', 'getConversationList', 'getFriendList',
    'getGroupList', 'getBlacklist', 'getUserProfile', 'getMessageList', 'setMessageRead', 'typing', 'sendMessage',
    'revokeMessage', 'getMessageList']);
  assert.deepEqual(report.conversation, { id: 'C2Ctk-bob', unread: 2, nick: 'Bob' });
  assert.equal(report.unreadAtStart, 2);
  assert.equal(report.unreadAtEnd, 0);
  assert.equal(report.peerNick, 'Bob');
  assert.deepEqual(report.history, [['in', 'hi Alice'], ['in', 'are you there?']]);
  assert.deepEqual(report.after, [['in', false], ['in', false], ['out', true]]);

  // Bob saw it all: the read receipt, the typing status, the message and its revoke.
  await until(() => bob.events.some((e) => e.event === 'messageRevoked'), 'bob sees the revoke');
  const names = bob.events.map((e) => e.event);
  assert.ok(names.includes('messageReadByPeer'));
  const received = bob.events.filter((e) => e.event === 'messageReceived').map((e) => e.data);
  assert.deepEqual(received.map((m) => [m.onlineOnly === true, m.custom ? 'typing' : m.text]),
    [[true, 'typing'], [false, 'hello from the app']]);
  assert.equal(bob.events.find((e) => e.event === 'messageRevoked').data.messageID, received[1].messageID);
  const shown = await page.$$eval('#conversations li', (items) => items.map((li) => li.textContent));
  assert.deepEqual(shown, ['Bob · a message was recalled · unread 0']);

  const artifacts = process.env.CHATD_TEST_ARTIFACTS;
  if (artifacts) {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'tuikit-app.png'), fullPage: true });
  }
  bob.close();
});
