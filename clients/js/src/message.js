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

export function outgoingTextMessage(from, { to, payload }) {
  return {
    ID: '',
    type: TYPES.MSG_TEXT,
    payload: { text: payload?.text ?? '' },
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

// A `messageReceived` event's data as a message object.
export function receivedMessage(data) {
  const peer = data.flow === 'out' ? data.to : data.from;
  return {
    ID: data.messageID,
    type: TYPES.MSG_TEXT,
    payload: { text: data.text },
    from: data.from,
    to: data.to,
    flow: data.flow,
    time: Math.floor(data.time / 1000),
    conversationType: TYPES.CONV_C2C,
    conversationID: `${TYPES.CONV_C2C}${peer}`,
    clientMsgID: data.clientMsgID ?? '',
    seq: data.seq,
    status: 'success',
  };
}
