// The demo page: chatd-chat (served beside it) driving the login page of
// the seed: login with a userID and UserSig, the ready state, server time,
// the KICKED_OUT banner, logout, destroy, and one-to-one messages (the
// user's history and offline messages at login, then live ones).
import ChatdChat from './chatd-chat/index.js';
import { generateTestUserSig } from './usersig.js';

const $ = (id) => document.getElementById(id);
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
let chat = null;

function log(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('event-log').prepend(item);
}

function showError(error) {
  $('error').hidden = false;
  $('error').textContent = `error ${error.code ?? ''}: ${error.message}`;
  log(`error ${error.code}: ${error.message}`);
}

function showReady(ready) {
  $('state').textContent = ready ? `ready as ${chat.getLoginUser()}` : 'not ready';
  $('state').className = `state ${ready ? 'ready' : 'not-ready'}`;
}

function showMessage(message) {
  const item = document.createElement('li');
  item.className = message.flow;
  const peer = message.flow === 'in' ? `from ${message.from}` : `to ${message.to}`;
  item.textContent = `${peer}: ${message.payload.text}`;
  item.dataset.seq = message.seq ?? '';
  $('message-list').append(item);
}

// One chat instance per SDKAppID (create), made on first use and again after destroy.
function currentChat() {
  if (chat) return chat;
  chat = ChatdChat.create({ SDKAppID: Number($('sdkappid').value), url });
  chat.on(ChatdChat.EVENT.SDK_READY, () => { showReady(true); log('SDK_READY'); });
  chat.on(ChatdChat.EVENT.SDK_NOT_READY, (e) => { showReady(false); log(`SDK_NOT_READY reason ${e.data.reason}`); });
  chat.on(ChatdChat.EVENT.KICKED_OUT, (e) => {
    $('kicked').hidden = false;
    $('kicked-type').textContent = e.data.type;
    $('kicked-by').textContent = e.data.by ? `by a ${e.data.by.platform} login (${e.data.by.instanceID})` : '';
    log(`KICKED_OUT ${e.data.type}`);
  });
  chat.on(ChatdChat.EVENT.MESSAGE_RECEIVED, (e) => e.data.forEach(showMessage));
  chat.on(ChatdChat.EVENT.NET_STATE_CHANGE, (e) => { $('net-state').textContent = e.data.state; });
  chat.on(ChatdChat.EVENT.ERROR, (e) => showError(e.data));
  return chat;
}

async function run(action) {
  $('error').hidden = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

$('login-button').onclick = () => run(async () => {
  $('kicked').hidden = true;
  // From the timeline's start: the retained history and what arrived
  // while offline come first (messageReceived), then live messages.
  $('message-list').replaceChildren();
  const r = await currentChat().login({ userID: $('user-id').value, userSig: $('user-sig').value, syncFromSeq: 0 });
  log(r.data.repeatLogin ? `login: repeat (${r.data.errorInfo})` : `login: instance ${r.data.instanceID}`);
});
$('logout-button').onclick = () => run(async () => { await currentChat().logout(); log('logout'); });
$('destroy-button').onclick = () => run(async () => {
  await currentChat().destroy();
  chat = null;
  showReady(false);
  log('destroyed');
});
$('make-sig-button').onclick = () => run(async () => {
  $('user-sig').value = await generateTestUserSig({ SDKAppID: Number($('sdkappid').value),
    secretKey: $('secret-key').value, userID: $('user-id').value });
  log('UserSig made in the page (debug only)');
});
$('send-form').onsubmit = (event) => {
  event.preventDefault();
  run(async () => {
    const message = currentChat().createTextMessage({ to: $('to').value, payload: { text: $('text').value } });
    await chat.sendMessage(message);
    showMessage(message);
    $('text').value = '';
  });
};

setInterval(() => {
  $('server-time').textContent = chat ? new Date(chat.getServerTime()).toISOString() : '–';
}, 500);
