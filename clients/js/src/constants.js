// The event names, types and codes of the client, with Tencent Cloud Chat's
// string values (TencentCloudChat.EVENT / TYPES), so that its docs read true.

export const EVENT = Object.freeze({
  SDK_READY: 'sdkStateReady',
  SDK_NOT_READY: 'sdkStateNotReady',
  KICKED_OUT: 'kickedOut',
  MESSAGE_RECEIVED: 'onMessageReceived',
  CONVERSATION_LIST_UPDATED: 'onConversationListUpdated',
  TOTAL_UNREAD_MESSAGE_COUNT_UPDATED: 'onTotalUnreadMessageCountUpdated',
  MESSAGE_READ_BY_PEER: 'onMessageReadByPeer',
  MESSAGE_REVOKED: 'onMessageRevoked',
  NET_STATE_CHANGE: 'netStateChange',
  ERROR: 'error',
  SDK_DESTROY: 'sdkDestroy',
});

export const TYPES = Object.freeze({
  KICKED_OUT_MULT_ACCOUNT: 'multipleAccount',
  KICKED_OUT_MULT_DEVICE: 'multipleDevice',
  KICKED_OUT_USERSIG_EXPIRED: 'userSigExpired',
  KICKED_OUT_REST_API: 'REST_API_Kick',
  NET_STATE_CONNECTED: 'connected',
  NET_STATE_CONNECTING: 'connecting',
  NET_STATE_DISCONNECTED: 'disconnected',
  CONV_C2C: 'C2C',
  MSG_TEXT: 'TIMTextElem',
  MSG_CUSTOM: 'TIMCustomElem',
});

// Codes the client produces itself (Tencent's Web SDK numbers); every other
// code comes from chatd (CONTRACT-NOTES.md).
export const CODE = Object.freeze({
  NO_SDKAPPID: 2000,
  NO_IDENTIFIER: 2002,
  NO_USERSIG: 2003,
  USER_NOT_LOGGED_IN: 2024,
  REPEAT_LOGIN: 2025,
  NETWORK_ERROR: 2800,
  NETWORK_TIMEOUT: 2801,
  INVALID_OPERATION: 2905,
  USERSIG_EXPIRED: 70001,
});

// The code a login failure carries when the server refused the credentials
// themselves: retrying them cannot succeed.
export function isCredentialError(code) {
  return code >= 70000 && code < 71000;
}
