// The user's conversations as Tencent's SDK shows them (conversationID,
// unreadCount, lastMessage, userProfile, peerReadTime), loaded from chatd
// and kept up to date from the messages and read notices that arrive.
import { TYPES } from './constants.js';
import { profileOf } from './profile.js';
import { receivedMessage } from './message.js';

function lastMessageOf(message) {
  const text = message.type === TYPES.MSG_TEXT ? message.payload.text : '[custom message]';
  return {
    lastTime: message.time, lastSequence: message.seq, fromAccount: message.from, type: message.type,
    payload: message.payload, messageForShow: message.isRevoked ? '[revoked]' : text,
    isRevoked: message.isRevoked === true,
  };
}

export class ConversationList {
  #byPeer = new Map();

  // chatd's getConversationList answer replaces what is kept.
  load(conversations) {
    this.#byPeer.clear();
    for (const c of conversations) {
      const profile = profileOf({ userID: c.userID, profile: c.peerProfile ?? {} });
      this.#byPeer.set(c.userID, {
        conversationID: `${TYPES.CONV_C2C}${c.userID}`, type: TYPES.CONV_C2C, unreadCount: c.unreadCount,
        peerReadTime: Math.floor(c.peerReadTime / 1000),
        lastMessage: lastMessageOf(receivedMessage(c.lastMessage)),
        userProfile: { userID: c.userID, nick: profile.nick, avatar: profile.avatar },
      });
    }
  }

  // A message of the timeline: the conversation's last one, and unread if it
  // came in (not this user's own).
  onMessage(message) {
    const peer = message.flow === 'out' ? message.to : message.from;
    const c = this.#byPeer.get(peer) ?? {
      conversationID: `${TYPES.CONV_C2C}${peer}`, type: TYPES.CONV_C2C, unreadCount: 0, peerReadTime: 0,
      userProfile: { userID: peer, nick: '', avatar: '' },
    };
    c.lastMessage = lastMessageOf(message);
    if (message.flow === 'in' && message.from !== message.to) c.unreadCount += 1;
    this.#byPeer.set(peer, c);
  }

  // Read up to `readTimeMs` (here or on another instance): what is kept
  // unread is cleared once the mark passes the last message.
  onRead(peer, readTimeMs, unreadCount = 0) {
    const c = this.#byPeer.get(peer);
    if (!c) return false;
    if (readTimeMs < c.lastMessage.lastTime * 1000 && unreadCount === 0) return false;
    const changed = c.unreadCount !== unreadCount;
    c.unreadCount = unreadCount;
    return changed;
  }

  onPeerRead(peer, readTimeMs) {
    const c = this.#byPeer.get(peer);
    if (c) c.peerReadTime = Math.floor(readTimeMs / 1000);
    return c?.conversationID ?? `${TYPES.CONV_C2C}${peer}`;
  }

  list() {
    return [...this.#byPeer.values()].sort((a, b) => b.lastMessage.lastTime - a.lastMessage.lastTime);
  }

  totalUnread() {
    let total = 0;
    for (const c of this.#byPeer.values()) total += c.unreadCount;
    return total;
  }
}
