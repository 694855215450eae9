// The README's example, type-checked against src/index.d.ts (types.test.mjs).
import ChatdChat, { ChatdError, type Message } from '../src/index.js';

export async function example(userSig: string): Promise<void> {
  const chat = ChatdChat.create({ SDKAppID: 1400000000, url: 'ws://127.0.0.1:8080/v1/ws' });
  chat.on(ChatdChat.EVENT.SDK_READY, () => console.log('ready at', chat.getServerTime()));
  chat.on(ChatdChat.EVENT.KICKED_OUT, (event) => {
    if (event.data.type === ChatdChat.TYPES.KICKED_OUT_MULT_ACCOUNT) console.log('logged in elsewhere');
  });
  chat.on(ChatdChat.EVENT.MESSAGE_RECEIVED, (event) => {
    for (const m of event.data) {
      if (m.type === ChatdChat.TYPES.MSG_TEXT) console.log(m.from, m.payload.text, m.seq);
      else if (!m.onlineOnly) console.log(m.from, 'sent a card', m.payload.data);
    }
  });
  const { data } = await chat.login({ userID: 'alice', userSig });
  if (data.repeatLogin) console.log(data.errorInfo);
  const message: Message = chat.createTextMessage({ to: 'bob', payload: { text: 'hello' } });
  try {
    await chat.sendMessage(message);
    const typing = chat.createCustomMessage({ to: 'bob', payload: { data: '{"businessID":"user_typing_status"}' } });
    await chat.sendMessage(typing, { onlineUserOnly: true });
  } catch (error) {
    if (error instanceof ChatdError) console.log(error.code, error.message);
  }
  const { data: me } = await chat.updateMyProfile({ nick: 'Alice', profileCustomField: [{ key: 'Tag_Profile_Custom_Team', value: 'red' }] });
  console.log(me.nick, me.profileCustomField.length);
  const { data: others } = await chat.getUserProfile({ userIDList: ['bob'] });
  for (const p of others) console.log(p.userID, p.nick, p.avatar);
  chat.on(ChatdChat.EVENT.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, (event) => console.log('unread', event.data));
  const { data: conversations } = await chat.getConversationList();
  for (const c of conversations.conversationList) {
    console.log(c.conversationID, c.unreadCount, c.userProfile.nick, c.lastMessage.messageForShow);
    if (c.unreadCount > 0) await chat.setMessageRead({ conversationID: c.conversationID });
  }
  await chat.logout();
  await chat.destroy();
}
