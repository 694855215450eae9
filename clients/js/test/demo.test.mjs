// The demo page served by chatd ([server] demo = true) in Debian's headless
// chromium, driven by puppeteer-core: two pages log in as one user with a
// Web limit of 1 and the first shows the multipleAccount banner; a message
// typed in one page appears in another; the UserSig made in the page
// (debug-only) is accepted by chatd.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { startChatd, stopAll, sig, APP, KEY, CHROMIUM, launchChromium, closeChromium } from './helpers.mjs';

const servers = [];
let browser;
after(async () => {
  await closeChromium(browser);
  await stopAll(servers);
});

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

async function openDemo(base) {
  const page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${base}/demo/`, { waitUntil: 'load' });
  return page;
}

// A background tab renders nothing, so puppeteer's clicks (which wait for
// the element to be visible) are made on the front one.
async function click(page, selector) {
  await page.bringToFront();
  await page.click(selector);
}

// Polled on a timer: the default (requestAnimationFrame) never fires in a
// background tab, and two of the three pages are in the background.
function waitFor(page, predicate, ...args) {
  return page.waitForFunction(predicate, { polling: 50, timeout: 20000 }, ...args);
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent);

async function login(page, userID, { userSig, secretKey }) {
  await page.bringToFront();
  await page.type('#user-id', userID);
  if (secretKey) {
    await click(page, '#debug summary');  // the debug-only part is folded away
    await page.type('#secret-key', secretKey);
    await click(page, '#make-sig-button');
    await waitFor(page, () => document.getElementById('user-sig').value.length > 50);
  } else {
    await page.type('#user-sig', userSig);
  }
  await click(page, '#login-button');
  await waitFor(page, (u) => document.getElementById('state').textContent === `ready as ${u}`, userID);
}

test('the demo page is off unless configured', async () => {
  const s = await startChatd();
  servers.push(s);
  assert.equal((await get(`http://${s.gateway}/demo/`)).status, 404);
  assert.equal((await get(`http://${s.gateway}/`)).status, 404);
});

test('with the demo on, / leads a new user\'s browser to it', async () => {
  const s = await startChatd({ server: { demo: true } });
  servers.push(s);
  const root = await get(`http://${s.gateway}/`);
  assert.equal(root.status, 301);
  assert.equal(root.headers.location, '/demo/');
});

test('the demo page in chromium: login, the kick banner, a message between pages, logout, destroy', async () => {
    assert.ok(CHROMIUM, 'chromium is installed (scripts/install-deps.sh)');
    const s = await startChatd({ server: { demo: true }, apps: [{ sdkappid: APP, secret_key: KEY, max_web_instances: 1 }] });
    servers.push(s);
    const base = `http://${s.gateway}`;
    const index = await get(`${base}/demo/`);
    assert.equal(index.status, 200);
    assert.match(index.headers['content-type'], /^text\/html/);
    assert.match(index.headers['content-security-policy'], /default-src 'self'/);
    assert.match((await get(`${base}/demo/chatd-chat/index.js`)).headers['content-type'], /^text\/javascript/);
    assert.equal((await get(`${base}/demo`)).status, 301);

    browser = await launchChromium();
    const first = await openDemo(base);
    await login(first, 'alice', { secretKey: KEY });  // the debug-only UserSig made in the page
    await waitFor(first, () => document.getElementById('server-time').textContent !== '–');
    const time = Date.parse(await text(first, '#server-time'));
    assert.ok(Math.abs(time - Date.now()) < 5000, 'server time shown');

    const second = await openDemo(base);
    await login(second, 'alice', { userSig: sig('alice') });
    await waitFor(first, () => !document.getElementById('kicked').hidden);
    assert.equal(await text(first, '#kicked-type'), 'multipleAccount');
    assert.match(await text(first, '#kicked-by'), /by a Web login/);
    await waitFor(first, () => document.getElementById('state').textContent === 'not ready');

    const bob = await openDemo(base);
    await login(bob, 'bob', { userSig: sig('bob') });
    await second.type('#to', 'bob');
    await second.type('#text', 'hello from a browser');
    await click(second, '#send-button');
    await waitFor(bob, () => [...document.querySelectorAll('#message-list li')]
      .some((li) => li.textContent === 'from alice: hello from a browser'));
    await waitFor(second, () => document.querySelector('#message-list li')?.textContent === 'to bob: hello from a browser');

    await click(bob, '#logout-button');
    await waitFor(bob, () => document.getElementById('event-log').textContent.includes('SDK_NOT_READY reason 3005'));
    await click(second, '#destroy-button');
    await waitFor(second, () => document.getElementById('event-log').textContent.includes('destroyed'));
    const online = await s.rest('openim/query_online_status', { To_Account: ['alice', 'bob'] });
    assert.deepEqual(online.body.QueryResult.map((q) => q.Status), ['Offline', 'Offline']);
    for (const page of [first, second, bob]) assert.deepEqual(page.errors, []);
  });

test('the demo page at a phone\'s width (390 px) shows the history and offline messages at login', async () => {
  assert.ok(CHROMIUM, 'chromium is installed (scripts/install-deps.sh)');
  const s = await startChatd({ server: { demo: true } });
  servers.push(s);
  for (const user of ['carol', 'dave'])
    assert.equal((await s.rest('im_open_login_svc/account_import', { UserID: user })).body.ErrorCode, 0);
  // Sent while dave's page is closed: one from him (another device), one to him.
  const send = (from, to, text) => s.rest('openim/sendmsg', { From_Account: from, To_Account: to,
    MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }] });
  assert.equal((await send('dave', 'carol', 'sent from my phone earlier')).body.ErrorCode, 0);
  assert.equal((await send('carol', 'dave', 'while you were away')).body.ErrorCode, 0);

  browser ??= await launchChromium();
  const page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await page.goto(`http://${s.gateway}/demo/`, { waitUntil: 'load' });
  await login(page, 'dave', { userSig: sig('dave') });
  const lines = () => page.$$eval('#message-list li', (items) => items.map((li) => li.textContent));
  await waitFor(page, () => document.querySelectorAll('#message-list li').length >= 2);
  assert.deepEqual(await lines(), ['to carol: sent from my phone earlier', 'from carol: while you were away']);
  // A live one follows, once.
  assert.equal((await send('carol', 'dave', 'live now')).body.ErrorCode, 0);
  await waitFor(page, () => document.querySelectorAll('#message-list li').length >= 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual((await lines()).slice(2), ['from carol: live now']);
  // Nothing wider than the phone: no sideways scrolling.
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(widths.page <= widths.view, `page ${widths.page} px wide in a ${widths.view} px view`);
  const artifacts = process.env.CHATD_TEST_ARTIFACTS ?? tmpdir();
  mkdirSync(artifacts, { recursive: true });
  const shot = join(artifacts, 'demo-390px.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  assert.deepEqual(page.errors, []);
});
