// Message objects shaped like Tencent's (type, payload, flow,
// conversationID, time in seconds), plus chatd's timeline seq.
import { TYPES } from './constants.js';

// A random clientMsgID: chatd stores a message once per (sender,
// clientMsgID), so sending the same message object again after a lost
// connection never stores it twice. getRandomValues works in insecure
// browser contexts too (randomUUID does not); React Native has it only with
// a polyfill, so Math.random stands in there (uniqueness, not secrecy).
function clientMsgID() {
  const bytes = new Uint8Array(12);
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; ++i) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function outgoingMessage(from, to, type, payload) {
  return {
    ID: '',
    type,
    payload,
    from,
    to,
    flow: 'out',
    time: 0,
    conversationType: TYPES.CONV_C2C,
    conversationID: `${TYPES.CONV_C2C}${to}`,
    clientMsgID: clientMsgID(),
    status: 'unSend',
  };
}

export function outgoingTextMessage(from, { to, payload }) {
  return outgoingMessage(from, to, TYPES.MSG_TEXT, { text: payload?.text ?? '' });
}

// Tencent's custom message: data, description and extension, carried untouched.
export function outgoingCustomMessage(from, { to, payload }) {
  return outgoingMessage(from, to, TYPES.MSG_CUSTOM, {
    data: payload?.data ?? '', description: payload?.description ?? '', extension: payload?.extension ?? '',
  });
}

// The sendMessage request's content for a message object.
export function sendRequest(message, { onlineUserOnly = false } = {}) {
  const content = message.type === TYPES.MSG_CUSTOM ? { custom: message.payload } : { text: message.payload.text };
  return { to: message.to, ...content, clientMsgID: message.clientMsgID, ...(onlineUserOnly ? { onlineOnly: true } : {}) };
}

// A `messageReceived` event's data as a message object.
export function receivedMessage(data) {
  const peer = data.flow === 'out' ? data.to : data.from;
  const custom = data.custom !== undefined;
  return {
    ID: data.messageID,
    type: custom ? TYPES.MSG_CUSTOM : TYPES.MSG_TEXT,
    payload: custom ? { ...data.custom } : { text: data.text },
    from: data.from,
    to: data.to,
    flow: data.flow,
    time: Math.floor(data.time / 1000),
    conversationType: TYPES.CONV_C2C,
    conversationID: `${TYPES.CONV_C2C}${peer}`,
    clientMsgID: data.clientMsgID ?? '',
    seq: data.seq,
    onlineOnly: data.onlineOnly === true,
    isRevoked: data.revoked === true,
    status: 'success',
  };
}
