// One WebSocket to chatd speaking the native protocol (CONTRACT §2):
// requests matched to responses by seq, events handed on in arrival order.
// It knows nothing of logins or reconnects (chatd-chat.js does).
import { ChatdError } from './chatd-error.js';
import { CODE } from './constants.js';

// Browsers, React Native and Node >= 22 have a global WebSocket; Node 20
// takes `ws` (an optional peer dependency), loaded only there. The module
// name is a variable so that bundlers for the browser leave it alone.
async function defaultWebSocket() {
  if (globalThis.WebSocket) return globalThis.WebSocket;
  const name = 'ws';
  try {
    return (await import(name)).default;
  } catch {
    throw new ChatdError(CODE.NETWORK_ERROR, 'no WebSocket here: install the `ws` package or pass options.WebSocket');
  }
}

export class Connection {
  #socket = null;
  #seq = 0;
  #pending = new Map();  // seq -> { resolve, reject, timer }
  #onEvent;
  #onClose;
  #requestTimeoutMs;

  // onEvent(frame) for each server push; onClose() once, when the socket is gone.
  constructor({ onEvent, onClose, requestTimeoutMs }) {
    this.#onEvent = onEvent;
    this.#onClose = onClose;
    this.#requestTimeoutMs = requestTimeoutMs;
  }

  // Resolves once the socket is open; rejects with NETWORK_ERROR otherwise.
  async open(url, WebSocketImpl) {
    const Impl = WebSocketImpl ?? (await defaultWebSocket());
    await new Promise((resolve, reject) => {
      let opened = false;
      const socket = new Impl(url);
      this.#socket = socket;
      socket.onopen = () => { opened = true; resolve(); };
      socket.onmessage = (event) => this.#receive(event.data);
      socket.onerror = () => {};  // onclose follows and says it all
      socket.onclose = () => {
        this.#failPending();
        if (opened) this.#onClose();
        else reject(new ChatdError(CODE.NETWORK_ERROR, `cannot connect to ${url}`));
      };
    });
  }

  get isOpen() {
    return this.#socket !== null && this.#socket.readyState === 1;
  }

  // Sends `op` and resolves with the response frame ({seq, code, message,
  // data}) whatever its code; rejects only when no response can come.
  // `onAnswer(frame)`, if given, runs as the answer is read, before any
  // later frame is handled (a promise resolves only after them).
  request(op, data = {}, onAnswer = null) {
    if (!this.isOpen) return Promise.reject(new ChatdError(CODE.NETWORK_ERROR, 'not connected'));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new ChatdError(CODE.NETWORK_TIMEOUT, `no answer to ${op}`));
      }, this.#requestTimeoutMs);
      this.#pending.set(seq, { resolve, reject, timer, onAnswer });
      this.#socket.send(JSON.stringify({ seq, op, data }));
    });
  }

  close(code = 1000) {
    if (this.#socket && this.#socket.readyState <= 1) this.#socket.close(code);
  }

  #receive(text) {
    let frame;
    try {
      frame = JSON.parse(typeof text === 'string' ? text : String(text));
    } catch {
      return;  // chatd sends JSON only; anything else is not ours to read
    }
    if (frame.event) {
      this.#onEvent(frame);
      return;
    }
    const waiter = this.#pending.get(frame.seq);
    if (!waiter) return;
    this.#pending.delete(frame.seq);
    clearTimeout(waiter.timer);
    waiter.onAnswer?.(frame);
    waiter.resolve(frame);
  }

  #failPending() {
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new ChatdError(CODE.NETWORK_ERROR, 'connection lost'));
    }
    this.#pending.clear();
  }
}
