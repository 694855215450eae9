// A rejected call: `code` is chatd's (or the client's, see CODE) and
// `message` says why, as in Tencent's SDK ({code, message}).
export class ChatdError extends Error {
  constructor(code, message, data) {
    super(message || `chatd error ${code}`);
    this.name = 'ChatdError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}
