// ChatdChat: chatd's native protocol behind the API of Tencent Cloud Chat's
// Web SDK (create, login, on(EVENT...), logout, destroy, getServerTime,
// createTextMessage, sendMessage). All of an instance's state is here; the
// socket is connection.js.
//
// After a lost connection a logged-in instance reconnects with jittered
// exponential back-off and logs in again with the same UserSig, resuming its
// timeline after the last seq it received (when it knows one: it received a
// message, or login had a syncFromSeq). A kick, a logout, destroy() or a
// refused UserSig ends the retries.
import { ChatdError } from './chatd-error.js';
import { Connection } from './connection.js';
import { CODE, EVENT, TYPES, isCredentialError } from './constants.js';
import { outgoingCustomMessage, outgoingTextMessage, receivedMessage, sendRequest } from './message.js';
import { profileOf, profileRequest } from './profile.js';
import { ConversationList } from './conversations.js';

// create() returns one instance per SDKAppID until it is destroyed, as
// TencentCloudChat.create does; `new ChatdChat()` makes independent ones.
const instancesByApp = new Map();

const NOT_READY_LOGGED_OUT = 3005;
const NOT_READY_LOGIN_FAILED = 3001;
const NOT_READY_SIG_EXPIRED = 3004;

export class ChatdChat {
  static EVENT = EVENT;
  static TYPES = TYPES;
  static CODE = CODE;

  static create(options) {
    const existing = instancesByApp.get(options?.SDKAppID);
    if (existing) return existing;
    const chat = new ChatdChat(options);
    instancesByApp.set(chat.#options.SDKAppID, chat);
    return chat;
  }

  #options;
  #listeners = new Map();  // event name -> Set of {fn, context}
  #connection = null;
  #credentials = null;     // {userID, userSig} while the app wants to be logged in
  #loggedIn = false;       // a login was accepted and has not ended (drives reconnects)
  #loginInFlight = false;
  #ready = false;
  #conversations = new ConversationList();
  #totalUnread = 0;
  #lastSeq = null;         // the highest timeline seq received, when known
  #ownSeqs = new Set();    // seqs of this instance's own sends on its timeline, not yet passed
  #offsetMs = 0;           // server clock minus local clock
  #reconnectTimer = null;
  #netState = TYPES.NET_STATE_DISCONNECTED;
  #destroyed = false;

  constructor({ SDKAppID, url = 'ws://127.0.0.1:8080/v1/ws', platform = 'Web', requestTimeoutMs = 10000,
    reconnectMinMs = 200, reconnectMaxMs = 10000, WebSocket } = {}) {
    this.#options = { SDKAppID, url, platform, requestTimeoutMs, reconnectMinMs, reconnectMaxMs, WebSocket };
  }

  on(name, fn, context) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add({ fn, context });
  }

  off(name, fn) {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const entry of set) if (entry.fn === fn) set.delete(entry);
  }

  // Resolves {code: 0, data: {repeatLogin, errorInfo, userID, instanceID,
  // serverTime, sigExpireAt}}; rejects a ChatdError {code, message}.
  async login({ userID, userSig, syncFromSeq } = {}) {
    if (this.#destroyed) throw new ChatdError(CODE.INVALID_OPERATION, 'this instance was destroyed');
    if (this.#loggedIn) {
      const errorInfo = `${this.#credentials.userID} is already logged in; logout() first to log in as someone else`;
      return { code: 0, data: { repeatLogin: true, errorInfo } };
    }
    if (this.#loginInFlight) throw new ChatdError(CODE.REPEAT_LOGIN, 'a login is already in flight');
    if (!this.#options.SDKAppID) throw new ChatdError(CODE.NO_SDKAPPID, 'no SDKAppID');
    if (!userID) throw new ChatdError(CODE.NO_IDENTIFIER, 'no userID');
    if (!userSig) throw new ChatdError(CODE.NO_USERSIG, 'no userSig');
    this.#loginInFlight = true;
    this.#credentials = { userID, userSig };
    this.#lastSeq = syncFromSeq ?? null;
    try {
      const data = await this.#logIn(this.#credentials);
      this.#loggedIn = true;
      this.#setNetState(TYPES.NET_STATE_CONNECTED);
      return { code: 0, data: { ...data, repeatLogin: false, errorInfo: '' } };
    } catch (error) {
      if (!this.#loggedIn) this.#credentials = null;
      throw error;
    } finally {
      this.#loginInFlight = false;
    }
  }

  // Takes this instance offline (other instances of the user stay).
  async logout() {
    if (!this.#loggedIn) throw new ChatdError(CODE.USER_NOT_LOGGED_IN, 'not logged in');
    this.#endLogin();
    const answer = this.#connection?.isOpen ? await this.#connection.request('logout').catch(() => null) : null;
    // chatd announces it (sdkStateNotReady 3005); without it, say it here.
    if (answer?.code !== 0) this.#becomeNotReady(NOT_READY_LOGGED_OUT);
    this.#offsetMs = 0;
    return { code: 0, data: {} };
  }

  // Logs out if logged in, closes the connection, and releases the instance.
  async destroy() {
    if (this.#destroyed) return { code: 0, data: {} };
    this.#destroyed = true;
    this.#endLogin();
    if (this.#connection?.isOpen) await this.#connection.request('destroy').catch(() => null);
    this.#dropConnection();
    if (this.#ready) this.#becomeNotReady(NOT_READY_LOGGED_OUT);
    if (instancesByApp.get(this.#options.SDKAppID) === this) instancesByApp.delete(this.#options.SDKAppID);
    this.#emit(EVENT.SDK_DESTROY, {});
    return { code: 0, data: {} };
  }

  // Replaces the live instance's UserSig (a reconnect uses the new one too).
  async renewUserSig(userSig) {
    const answer = await this.#authenticatedRequest('renewUserSig', { userSig });
    if (this.#credentials) this.#credentials = { ...this.#credentials, userSig };
    return { code: 0, data: answer.data };
  }

  // Tencent's Profile objects: {userID, nick, avatar, gender, ..., profileCustomField}.
  async getMyProfile() {
    const { data } = await this.getUserProfile({ userIDList: [this.getLoginUser()] });
    return { code: 0, data: data[0] ?? profileOf({ userID: this.getLoginUser(), profile: {} }) };
  }

  // Users who are no account are left out, as Tencent's SDK does.
  async getUserProfile({ userIDList } = {}) {
    const answer = await this.#authenticatedRequest('getUserProfile', { userIDList });
    return { code: 0, data: answer.data.profiles.map(profileOf) };
  }

  // The fields given are stored (others kept); resolves once durable.
  async updateMyProfile(options = {}) {
    await this.#authenticatedRequest('updateMyProfile', { profile: profileRequest(options) });
    return this.getMyProfile();
  }

  // The conversations, fresh from chatd; kept up to date between calls
  // (CONVERSATION_LIST_UPDATED, TOTAL_UNREAD_MESSAGE_COUNT_UPDATED).
  async getConversationList() {
    await this.#loadConversations();
    return { code: 0, data: { conversationList: this.#conversations.list(), isSyncCompleted: true } };
  }

  getTotalUnreadMessageCount() { return this.#totalUnread; }

  // The user's own message, within the app's revoke window (20016 after it).
  async revokeMessage(message) {
    await this.#authenticatedRequest('revokeMessage', { to: message.to, messageID: message.ID });
    message.isRevoked = true;
    this.#loadConversations().catch(() => {});
    return { code: 0, data: { message } };
  }

  // C2C: the conversation read up to now, on every instance of the user; the
  // peer's MESSAGE_READ_BY_PEER.
  async setMessageRead({ conversationID } = {}) {
    if (typeof conversationID !== 'string' || !conversationID.startsWith(TYPES.CONV_C2C)) {
      throw new ChatdError(CODE.INVALID_OPERATION, 'only C2C conversations');
    }
    const peer = conversationID.slice(TYPES.CONV_C2C.length);
    const answer = await this.#authenticatedRequest('setMessageRead', { userID: peer });
    if (this.#conversations.onRead(peer, answer.data.readTime, answer.data.unreadCount)) this.#conversationsChanged();
    return { code: 0, data: {} };
  }

  isReady() { return this.#ready; }

  getLoginUser() { return this.#loggedIn ? this.#credentials.userID : ''; }

  // chatd's clock in milliseconds (as the official Web SDK 3.6.6 returns),
  // from the offset measured at login; the local clock before that.
  getServerTime() { return Date.now() + this.#offsetMs; }

  createTextMessage({ to, conversationType = TYPES.CONV_C2C, payload } = {}) {
    if (conversationType !== TYPES.CONV_C2C) throw new ChatdError(CODE.INVALID_OPERATION, 'only C2C conversations');
    return outgoingTextMessage(this.getLoginUser(), { to, payload });
  }

  createCustomMessage({ to, conversationType = TYPES.CONV_C2C, payload } = {}) {
    if (conversationType !== TYPES.CONV_C2C) throw new ChatdError(CODE.INVALID_OPERATION, 'only C2C conversations');
    return outgoingCustomMessage(this.getLoginUser(), { to, payload });
  }

  // Resolves {code: 0, data: {message}} once chatd has stored the message
  // (with `onlineUserOnly`: handed to the recipient's online instances, never
  // stored). On a failure the message's status is 'fail'; sending the same
  // object again is safe (chatd keeps one copy per clientMsgID).
  async sendMessage(message, options = {}) {
    message.status = 'sending';
    try {
      const answer = await this.#authenticatedRequest('sendMessage', sendRequest(message, options));
      message.ID = answer.data.messageID;
      message.time = Math.floor(answer.data.time / 1000);
      // A later sync (after a reconnect) brings this copy back as flow 'out':
      // it is this instance's own message, never a received one.
      if (answer.data.senderSeq !== undefined) this.#ownSeqs.add(answer.data.senderSeq);
      message.status = 'success';
      if (!options.onlineUserOnly) {
        this.#conversations.onMessage({ ...message, seq: answer.data.senderSeq });
        this.#conversationsChanged();
      }
      return { code: 0, data: { message } };
    } catch (error) {
      message.status = 'fail';
      error.data = { message };
      throw error;
    }
  }

  // --- the login, the connection and the reconnects ---

  async #logIn({ userID, userSig }) {
    await this.#connect();
    const sentAt = Date.now();
    const request = { SDKAppID: this.#options.SDKAppID, userID, userSig, platform: this.#options.platform };
    if (this.#lastSeq !== null) request.syncFromSeq = this.#lastSeq;
    const answer = await this.#connection.request('login', request, (frame) => this.#followTimelineHead(frame));
    if (answer.code !== 0) throw new ChatdError(answer.code, answer.message);
    const now = Date.now();
    this.#offsetMs = answer.data.serverTime + (now - sentAt) / 2 - now;
    return answer.data;
  }

  async #connect() {
    if (this.#connection?.isOpen) return;
    const connection = new Connection({
      onEvent: (frame) => { if (connection === this.#connection) this.#onEvent(frame); },
      onClose: () => { if (connection === this.#connection) this.#onConnectionLost(); },
      requestTimeoutMs: this.#options.requestTimeoutMs,
    });
    this.#connection = connection;
    try {
      await connection.open(this.#options.url, this.#options.WebSocket);
    } catch (error) {
      if (this.#connection === connection) this.#connection = null;
      throw error;
    }
  }

  async #authenticatedRequest(op, data) {
    if (!this.#loggedIn) throw new ChatdError(CODE.USER_NOT_LOGGED_IN, 'not logged in');
    if (!this.#connection?.isOpen || !this.#ready)
      throw new ChatdError(CODE.NETWORK_ERROR, 'reconnecting to chatd');
    const answer = await this.#connection.request(op, data);
    if (answer.code !== 0) throw new ChatdError(answer.code, answer.message);
    return answer;
  }

  #onEvent({ event, data }) {
    switch (event) {
      case 'sdkStateReady':
        // It may be read before login()'s answer is (frames of one packet
        // are handed over together): a listener can already send.
        if (!this.#credentials) return;  // logged out while a reconnect was answered
        this.#loggedIn = true;
        this.#ready = true;
        this.#emit(EVENT.SDK_READY, data);
        this.#loadConversations().catch(() => {});  // as Tencent's SDK pulls them after login
        break;
      case 'sdkStateNotReady':
        this.#becomeNotReady(data.reason);
        break;
      case 'kickedOut':
        // chatd keeps the socket, logged out: a later login may reuse it.
        this.#endLogin();
        this.#emit(EVENT.KICKED_OUT, { type: data.type, by: data.by });
        break;
      case 'messageReceived':
        this.#onMessage(data);
        break;
      case 'conversationRead':
        if (this.#conversations.onRead(data.userID, data.readTime)) this.#conversationsChanged();
        break;
      case 'messageRevoked': {
        const peer = data.from === this.getLoginUser() ? data.to : data.from;
        this.#emit(EVENT.MESSAGE_REVOKED, [{
          ID: data.messageID, conversationID: `${TYPES.CONV_C2C}${peer}`, conversationType: TYPES.CONV_C2C,
          from: data.from, to: data.to, seq: data.seq, time: Math.floor(data.time / 1000), isRevoked: true,
        }]);
        this.#loadConversations().catch(() => {});  // its last message and unread count
        break;
      }
      case 'messageReadByPeer': {
        const conversationID = this.#conversations.onPeerRead(data.userID, data.readTime);
        this.#emit(EVENT.MESSAGE_READ_BY_PEER, [{ conversationID, peerReadTime: Math.floor(data.readTime / 1000) }]);
        this.#conversationsChanged();
        break;
      }
    }
  }

  // Each timeline entry once, in seq order (a resumed sync may repeat some).
  // A resuming login's answer names the timeline's head; a resume point past
  // it (a reset store, another server) would drop every new entry: start
  // over from the head. Called as the answer is read, before the next frame.
  #followTimelineHead(frame) {
    const head = frame.data?.timelineHead;
    if (typeof head === 'number' && this.#lastSeq !== null && head < this.#lastSeq) this.#lastSeq = head;
  }

  // This instance's own sends advance the resume point but are not emitted.
  // An online-only message is in no timeline: emitted as it comes.
  #onMessage(data) {
    if (data.onlineOnly === true) {
      this.#emit(EVENT.MESSAGE_RECEIVED, [receivedMessage(data)]);
      return;
    }
    if (this.#lastSeq !== null && data.seq <= this.#lastSeq) return;
    this.#lastSeq = data.seq;
    for (const seq of this.#ownSeqs) if (seq < data.seq) this.#ownSeqs.delete(seq);
    if (this.#ownSeqs.delete(data.seq)) return;
    const message = receivedMessage(data);
    this.#emit(EVENT.MESSAGE_RECEIVED, [message]);
    this.#conversations.onMessage(message);
    this.#conversationsChanged();
  }

  async #loadConversations() {
    const answer = await this.#authenticatedRequest('getConversationList', {});
    this.#conversations.load(answer.data.conversations);
    this.#conversationsChanged();
  }

  #conversationsChanged() {
    this.#emit(EVENT.CONVERSATION_LIST_UPDATED, this.#conversations.list());
    const total = this.#conversations.totalUnread();
    if (total !== this.#totalUnread) {
      this.#totalUnread = total;
      this.#emit(EVENT.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, total);
    }
  }

  #becomeNotReady(reason) {
    this.#ready = false;
    this.#emit(EVENT.SDK_NOT_READY, { reason });
  }

  #onConnectionLost() {
    this.#connection = null;
    this.#ready = false;
    if (this.#destroyed || !this.#loggedIn) return;
    this.#setNetState(TYPES.NET_STATE_CONNECTING);
    this.#scheduleReconnect(0);
  }

  // Equal jitter: half the back-off fixed, half random, so that thousands of
  // clients cut off together do not come back together.
  #scheduleReconnect(attempt) {
    const { reconnectMinMs, reconnectMaxMs } = this.#options;
    const backoff = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** attempt);
    const delay = backoff / 2 + (Math.random() * backoff) / 2;
    this.#reconnectTimer = setTimeout(() => this.#reconnect(attempt), delay);
  }

  async #reconnect(attempt) {
    this.#reconnectTimer = null;
    if (!this.#credentials) return;
    try {
      await this.#logIn(this.#credentials);
      // Logged out meanwhile: closing the socket ends chatd's instance too.
      if (!this.#credentials) this.#dropConnection();
      else this.#setNetState(TYPES.NET_STATE_CONNECTED);
    } catch (error) {
      if (!this.#credentials) return;
      this.#dropConnection();
      if (isCredentialError(error.code)) {
        this.#giveUp(error);
        return;
      }
      this.#setNetState(TYPES.NET_STATE_DISCONNECTED);
      this.#scheduleReconnect(attempt + 1);
    }
  }

  // The UserSig was refused on a reconnect: retrying cannot help.
  #giveUp(error) {
    this.#endLogin();
    const expired = error.code === CODE.USERSIG_EXPIRED;
    if (expired) this.#emit(EVENT.KICKED_OUT, { type: TYPES.KICKED_OUT_USERSIG_EXPIRED });
    this.#becomeNotReady(expired ? NOT_READY_SIG_EXPIRED : NOT_READY_LOGIN_FAILED);
    this.#emit(EVENT.ERROR, { code: error.code, message: error.message });
  }

  // The app logged out or was kicked: no more reconnects.
  #endLogin() {
    this.#loggedIn = false;
    this.#credentials = null;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  #dropConnection() {
    const connection = this.#connection;
    this.#connection = null;
    connection?.close();
  }

  #setNetState(state) {
    if (state === this.#netState) return;
    this.#netState = state;
    this.#emit(EVENT.NET_STATE_CHANGE, { state });
  }

  // Listeners get {name, data}, as in Tencent's SDK; one that throws does
  // not stop the others.
  #emit(name, data) {
    for (const { fn, context } of [...(this.#listeners.get(name) ?? [])]) {
      try {
        fn.call(context, { name, data });
      } catch (error) {
        console.error(`chatd-chat: a ${name} listener threw`, error);
      }
    }
  }
}
