// One simulated device running the unmodified official Web SDK
// (@tencentcloud/chat, pinned in package.json) in its own Node process: the
// SDK keeps one instance per SDKAppID per process. Reads commands as JSON
// lines on stdin, writes events and results as JSON lines on stdout.
//   node sdk-device.mjs <proxyServer> <SDKAppID>
import WebSocket from 'ws';
import readline from 'node:readline';

globalThis.WebSocket = WebSocket;  // Node 20 has none; the SDK needs one
const { default: TencentCloudChat } = await import('@tencentcloud/chat');

const [proxyServer, sdkAppID] = process.argv.slice(2);
const out = (message) => process.stdout.write(JSON.stringify(message) + '\n');
process.on('unhandledRejection', (reason) => out({ unhandledRejection: String(reason?.code ?? reason) }));
// The SDK's socket can fail while it is torn down (destroy during a reconnect).
process.on('uncaughtException', (error) => out({ uncaughtException: String(error?.message ?? error) }));
setTimeout(() => { out({ event: 'timeout' }); process.exit(3); }, 120000).unref();

const chat = TencentCloudChat.create({ SDKAppID: Number(sdkAppID), proxyServer });
chat.setLogLevel(4);
const E = TencentCloudChat.EVENT;
chat.on(E.SDK_READY, () => out({ event: 'SDK_READY' }));
chat.on(E.SDK_NOT_READY, () => out({ event: 'SDK_NOT_READY' }));
chat.on(E.KICKED_OUT, (e) => out({ event: 'KICKED_OUT', type: e.data.type }));
chat.on(E.NET_STATE_CHANGE, (e) => out({ event: 'NET_STATE_CHANGE', state: e.data.state }));
chat.on(E.ERROR, (e) => out({ event: 'ERROR', code: e.data?.code, message: String(e.data?.message ?? '') }));
const shape = (m) => ({ ID: m.ID, from: m.from, to: m.to, flow: m.flow, type: m.type, text: m.payload?.text, time: m.time,
  conversationID: m.conversationID, sequence: m.sequence, random: m.random, isRevoked: m.isRevoked,
  ...(m.type === TencentCloudChat.TYPES.MSG_CUSTOM ? { data: m.payload.data, description: m.payload.description, extension: m.payload.extension } : {}) });
chat.on(E.MESSAGE_RECEIVED, (e) => out({ event: 'MESSAGE_RECEIVED', messages: e.data.map(shape) }));
chat.on(E.MESSAGE_REVOKED, (e) => out({ event: 'MESSAGE_REVOKED', messages: e.data.map(shape) }));
const conversation = (c) => ({ conversationID: c.conversationID, type: c.type, unreadCount: c.unreadCount, messageRemindType: c.messageRemindType,
  lastMessage: c.lastMessage && { fromAccount: c.lastMessage.fromAccount, payload: c.lastMessage.payload, type: c.lastMessage.type,
    lastTime: c.lastMessage.lastTime, isRevoked: c.lastMessage.isRevoked, messageForShow: c.lastMessage.messageForShow },
  userProfile: c.userProfile && { userID: c.userProfile.userID, nick: c.userProfile.nick, avatar: c.userProfile.avatar } });
chat.on(E.CONVERSATION_LIST_UPDATED, (e) => out({ event: 'CONVERSATION_LIST_UPDATED', conversations: e.data.map(conversation) }));
chat.on(E.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, (e) => out({ event: 'TOTAL_UNREAD_MESSAGE_COUNT_UPDATED', count: e.data }));
chat.on(E.MESSAGE_READ_BY_PEER, (e) => out({ event: 'MESSAGE_READ_BY_PEER', messages: e.data.map(shape) }));

const sent = new Map();  // ID -> the SDK's message object, for revoke
const commands = {
  login: ({ userID, userSig }) => chat.login({ userID, userSig }).then((r) => ({ code: 0, repeatLogin: !!r.data.repeatLogin })),
  logout: () => chat.logout().then(() => ({ code: 0 })),
  getLoginUser: () => ({ userID: chat.getLoginUser() }),
  getServerTime: () => ({ serverTime: chat.getServerTime() }),
  isReady: () => ({ ready: chat.isReady() }),
  sendText: ({ to, text }) => chat.sendMessage(chat.createTextMessage({ to, conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { text } }))
    .then((r) => { sent.set(r.data.message.ID, r.data.message); return { code: r.code ?? 0, status: r.data.message.status, message: shape(r.data.message) }; }),
  sendCustom: ({ to, data, description = '', extension = '', onlineUserOnly = false }) => chat.sendMessage(
    chat.createCustomMessage({ to, conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { data, description, extension } }),
    { onlineUserOnly })
    .then((r) => { sent.set(r.data.message.ID, r.data.message); return { code: r.code ?? 0, status: r.data.message.status, message: shape(r.data.message) }; }),
  // A message this device sent (by ID) or received, revoked.
  revoke: ({ ID }) => chat.revokeMessage(sent.get(ID)).then((r) => ({ code: r.code ?? 0, message: shape(r.data.message) })),
  getConversationList: () => chat.getConversationList().then((r) => ({ code: 0, conversations: r.data.conversationList.map(conversation),
    isSyncCompleted: r.data.isSyncCompleted })),
  getMessageList: ({ conversationID, nextReqMessageID }) => chat.getMessageList({ conversationID, nextReqMessageID })
    .then((r) => ({ code: 0, messages: r.data.messageList.map(shape), isCompleted: r.data.isCompleted,
      nextReqMessageID: r.data.nextReqMessageID })),
  // Any SDK method by name, its promise's data or its error code.
  api: ({ method, options }) => Promise.resolve(options === undefined ? chat[method]() : chat[method](options))
    .then((r) => (typeof r === 'object' && r !== null ? { code: r.code ?? 0, data: r.data ?? null } : { code: 0, data: r })),
  exit: async () => { await chat.destroy().catch(() => {}); setTimeout(() => process.exit(0), 50); return {}; },
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  const { id, cmd, ...args } = JSON.parse(line);
  Promise.resolve()
    .then(() => commands[cmd](args))
    .then((result) => out({ id, ...result }), (error) => out({ id, code: error.code ?? -1, message: String(error.message ?? error) }));
}
