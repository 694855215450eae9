// Test helpers: a real chatd (tests/e2e/lib/chatd.mjs starts it from
// CHATD_BIN), UserSigs from Tencent's own generator, a TCP proxy that can
// cut every connection (a lost network), and event recording.
import net from 'node:net';
import { existsSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { ChatdChat } from '../src/index.js';

export { startChatd, stopAll, sig, APP, KEY, sleep, until } from '../../../tests/e2e/lib/chatd.mjs';

// A client with every event it emits recorded in order.
export function recordedClient(url, options = {}) {
  const chat = new ChatdChat({ SDKAppID: options.SDKAppID ?? 1400000000, url, reconnectMinMs: 100,
    reconnectMaxMs: 400, ...options });
  const events = [];
  for (const name of Object.values(ChatdChat.EVENT)) chat.on(name, (event) => events.push(event));
  chat.events = events;
  chat.named = (name) => events.filter((e) => e.name === name);
  return chat;
}

// A TCP proxy on 127.0.0.1 in front of `target` ("host:port"); cut() closes
// every proxied connection, as a network failure would.
export async function startProxy(target) {
  const [host, port] = target.split(':');
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstream = net.connect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${server.address().port}/v1/ws`,
    cut() { for (const s of sockets) s.destroy(); },
    // While refusing, new connections are closed at once (the network is down).
    refuse(value) { refusing = value; },
    close() { this.cut(); server.close(); },
  };
}

// Debian's chromium (scripts/install-deps.sh), headless, for the page tests.
export const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(existsSync);

export function launchChromium() {
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

// Closes the browser, killed if it does not close in time (it must not
// outlive the test).
export async function closeChromium(browser) {
  const closed = browser?.close();
  const timer = setTimeout(() => browser?.process()?.kill('SIGKILL'), 5000);
  await closed?.catch(() => {});
  clearTimeout(timer);
}
