// TypeScript declarations of chatd-chat (src/index.js).

export declare const EVENT: {
  readonly SDK_READY: 'sdkStateReady';
  readonly SDK_NOT_READY: 'sdkStateNotReady';
  readonly KICKED_OUT: 'kickedOut';
  readonly MESSAGE_RECEIVED: 'onMessageReceived';
  readonly CONVERSATION_LIST_UPDATED: 'onConversationListUpdated';
  readonly TOTAL_UNREAD_MESSAGE_COUNT_UPDATED: 'onTotalUnreadMessageCountUpdated';
  readonly MESSAGE_READ_BY_PEER: 'onMessageReadByPeer';
  readonly MESSAGE_REVOKED: 'onMessageRevoked';
  readonly NET_STATE_CHANGE: 'netStateChange';
  readonly ERROR: 'error';
  readonly SDK_DESTROY: 'sdkDestroy';
};

export declare const TYPES: {
  readonly KICKED_OUT_MULT_ACCOUNT: 'multipleAccount';
  readonly KICKED_OUT_MULT_DEVICE: 'multipleDevice';
  readonly KICKED_OUT_USERSIG_EXPIRED: 'userSigExpired';
  readonly KICKED_OUT_REST_API: 'REST_API_Kick';
  readonly NET_STATE_CONNECTED: 'connected';
  readonly NET_STATE_CONNECTING: 'connecting';
  readonly NET_STATE_DISCONNECTED: 'disconnected';
  readonly CONV_C2C: 'C2C';
  readonly MSG_TEXT: 'TIMTextElem';
  readonly MSG_CUSTOM: 'TIMCustomElem';
};

export declare const CODE: {
  readonly NO_SDKAPPID: 2000;
  readonly NO_IDENTIFIER: 2002;
  readonly NO_USERSIG: 2003;
  readonly USER_NOT_LOGGED_IN: 2024;
  readonly REPEAT_LOGIN: 2025;
  readonly NETWORK_ERROR: 2800;
  readonly NETWORK_TIMEOUT: 2801;
  readonly INVALID_OPERATION: 2905;
  readonly USERSIG_EXPIRED: 70001;
};

export type KickedOutType =
  | typeof TYPES.KICKED_OUT_MULT_ACCOUNT
  | typeof TYPES.KICKED_OUT_MULT_DEVICE
  | typeof TYPES.KICKED_OUT_USERSIG_EXPIRED
  | typeof TYPES.KICKED_OUT_REST_API;

export type NetState =
  | typeof TYPES.NET_STATE_CONNECTED
  | typeof TYPES.NET_STATE_CONNECTING
  | typeof TYPES.NET_STATE_DISCONNECTED;

/** A rejected call: chatd's code (or the client's, see CODE) and why. */
export declare class ChatdError extends Error {
  readonly code: number;
  data?: { message?: Message };
}

/** Tencent's custom element: carried untouched (1..12 KiB together). */
export interface CustomPayload {
  data: string;
  description: string;
  extension: string;
}

interface MessageBase {
  ID: string;
  from: string;
  to: string;
  /** 'in': sent to this user; 'out': this user's own (from another instance, or sent here). */
  flow: 'in' | 'out';
  /** Seconds since the epoch, as in Tencent's SDK. */
  time: number;
  conversationType: typeof TYPES.CONV_C2C;
  /** 'C2C' + the other user's ID. */
  conversationID: string;
  clientMsgID: string;
  /** The entry's seq in this user's timeline (received messages; 0 when online-only). */
  seq?: number;
  /** Received online-only: in no timeline, never synced (typing status and such). */
  onlineOnly?: boolean;
  /** Withdrawn by its sender: its payload is empty. */
  isRevoked?: boolean;
  status: 'unSend' | 'sending' | 'success' | 'fail';
}

export interface TextMessage extends MessageBase {
  type: typeof TYPES.MSG_TEXT;
  payload: { text: string };
}

export interface CustomMessage extends MessageBase {
  type: typeof TYPES.MSG_CUSTOM;
  payload: CustomPayload;
}

export type Message = TextMessage | CustomMessage;

/** Tencent's Profile object. */
export interface Profile {
  userID: string;
  nick: string;
  gender: 'Gender_Type_Unknown' | 'Gender_Type_Female' | 'Gender_Type_Male';
  birthday: number;
  location: string;
  selfSignature: string;
  allowType: 'AllowType_Type_NeedConfirm' | 'AllowType_Type_AllowAny' | 'AllowType_Type_DenyAny';
  language: number;
  avatar: string;
  messageSettings: number;
  adminForbidType: string;
  level: number;
  role: number;
  /** Tag_Profile_Custom_* fields: a string or a number each. */
  profileCustomField: { key: string; value: string | number }[];
}

/** Tencent's Conversation object (C2C). */
export interface Conversation {
  conversationID: string;
  type: typeof TYPES.CONV_C2C;
  unreadCount: number;
  /** The peer's read mark of this conversation (s). */
  peerReadTime: number;
  lastMessage: {
    lastTime: number;
    lastSequence?: number;
    fromAccount: string;
    type: Message['type'];
    payload: Message['payload'];
    messageForShow: string;
    isRevoked: boolean;
  };
  userProfile: { userID: string; nick: string; avatar: string };
}

export interface EventData {
  sdkStateReady: { userID: string; instanceID: string };
  /** 3005 logged out, 3002/3003 kicked, 3004 UserSig expired, 3006 REST kick, 3001 login failed. */
  sdkStateNotReady: { reason: number };
  kickedOut: { type: KickedOutType; by?: { platform: string; instanceID: string } };
  onMessageReceived: Message[];
  onConversationListUpdated: Conversation[];
  onTotalUnreadMessageCountUpdated: number;
  /** chatd's: which conversation the peer read, up to when (s), not the message objects. */
  onMessageReadByPeer: { conversationID: string; peerReadTime: number }[];
  /** The withdrawn messages: ID, conversationID, from, to, seq, time, isRevoked (not the full objects). */
  onMessageRevoked: Pick<MessageBase, 'ID' | 'conversationID' | 'from' | 'to' | 'seq' | 'time'>[];
  netStateChange: { state: NetState };
  error: { code: number; message: string };
  sdkDestroy: Record<string, never>;
}

export type EventName = keyof EventData;
export type Listener<N extends EventName> = (event: { name: N; data: EventData[N] }) => void;

export interface ChatdChatOptions {
  SDKAppID: number;
  /** ws:// or wss:// URL of chatd's /v1/ws. */
  url?: string;
  /** Web (default), Android, iOS, ... (CONTRACT §3). */
  platform?: string;
  requestTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** A WebSocket class; default: the global one, else the `ws` package (Node 20). */
  WebSocket?: unknown;
}

export interface LoginOptions {
  userID: string;
  userSig: string;
  /** Receive the timeline after this seq first (0: everything retained); reconnects then resume gap-free. */
  syncFromSeq?: number;
}

export interface LoginResponse {
  code: 0;
  data: {
    repeatLogin: boolean;
    errorInfo: string;
    userID?: string;
    instanceID?: string;
    platform?: string;
    /** Milliseconds since the epoch. */
    serverTime?: number;
    sigExpireAt?: number;
  };
}

export declare class ChatdChat {
  static readonly EVENT: typeof EVENT;
  static readonly TYPES: typeof TYPES;
  static readonly CODE: typeof CODE;
  /** One instance per SDKAppID until destroy(), as TencentCloudChat.create. */
  static create(options: ChatdChatOptions): ChatdChat;
  constructor(options: ChatdChatOptions);

  on<N extends EventName>(name: N, listener: Listener<N>, context?: unknown): void;
  off<N extends EventName>(name: N, listener: Listener<N>): void;

  login(options: LoginOptions): Promise<LoginResponse>;
  logout(): Promise<{ code: 0; data: Record<string, never> }>;
  destroy(): Promise<{ code: 0; data: Record<string, never> }>;
  renewUserSig(userSig: string): Promise<{ code: 0; data: { sigExpireAt: number } }>;

  getConversationList(): Promise<{ code: 0; data: { conversationList: Conversation[]; isSyncCompleted: boolean } }>;
  getTotalUnreadMessageCount(): number;
  setMessageRead(options: { conversationID: string }): Promise<{ code: 0; data: Record<string, never> }>;
  /** The user's own message, within the app's revoke window. */
  revokeMessage<M extends Message>(message: M): Promise<{ code: 0; data: { message: M } }>;
  getMyProfile(): Promise<{ code: 0; data: Profile }>;
  /** Users who are no account are left out. At most 100. */
  getUserProfile(options: { userIDList: string[] }): Promise<{ code: 0; data: Profile[] }>;
  /** The fields given are stored (the others kept); resolves with the profile once durable. */
  updateMyProfile(
    options: Partial<Omit<Profile, 'userID' | 'adminForbidType'>>,
  ): Promise<{ code: 0; data: Profile }>;

  isReady(): boolean;
  getLoginUser(): string;
  /** chatd's clock in milliseconds. */
  getServerTime(): number;

  createTextMessage(options: { to: string; conversationType?: typeof TYPES.CONV_C2C; payload: { text: string } }): TextMessage;
  createCustomMessage(options: {
    to: string;
    conversationType?: typeof TYPES.CONV_C2C;
    payload: Partial<CustomPayload>;
  }): CustomMessage;
  /** onlineUserOnly: to the recipient's online instances only, never stored. */
  sendMessage<M extends Message>(
    message: M,
    options?: { onlineUserOnly?: boolean },
  ): Promise<{ code: 0; data: { message: M } }>;
}

export default ChatdChat;
