// chatd-chat: the JavaScript client of chatd's native protocol, with the API
// of Tencent Cloud Chat's Web SDK.
//
//   import ChatdChat from 'chatd-chat';
//   const chat = ChatdChat.create({ SDKAppID: 1400000000, url: 'ws://127.0.0.1:8080/v1/ws' });
//   chat.on(ChatdChat.EVENT.KICKED_OUT, (event) => console.log(event.data.type));
//   await chat.login({ userID: 'alice', userSig });
export { ChatdChat, ChatdChat as default } from './chatd-chat.js';
export { ChatdError } from './chatd-error.js';
export { CODE, EVENT, TYPES } from './constants.js';
