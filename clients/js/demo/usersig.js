// DEBUG ONLY: makes a Tencent-compatible UserSig in the page from the app's
// secret key, as Tencent's own demos do (GenerateTestUserSig). A key in a
// web page is a key given to everyone who opens it: in production the app's
// server makes UserSigs (chatd-usersig, or Tencent's server-side libraries).
//
// Algorithm (TENCENT-FACTS.md §1): HMAC-SHA256 over the fixed field lines,
// a JSON document, zlib, base64 with + / = replaced by * - _.
// Needs a secure context (https, or http on 127.0.0.1 / localhost) for
// crypto.subtle, and CompressionStream (zlib format: 'deflate').

function base64(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

async function hmacSha256(key, text) {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' },
    false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text)));
}

async function zlib(text) {
  const stream = new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function generateTestUserSig({ SDKAppID, secretKey, userID, expireSeconds = 86400 }) {
  const time = Math.floor(Date.now() / 1000);
  const signed = `TLS.identifier:${userID}\nTLS.sdkappid:${SDKAppID}\nTLS.time:${time}\nTLS.expire:${expireSeconds}\n`;
  const document = {
    'TLS.ver': '2.0',
    'TLS.identifier': String(userID),
    'TLS.sdkappid': Number(SDKAppID),
    'TLS.expire': Number(expireSeconds),
    'TLS.time': time,
    'TLS.sig': base64(await hmacSha256(secretKey, signed)),
  };
  const compressed = await zlib(JSON.stringify(document));
  return base64(compressed).replaceAll('+', '*').replaceAll('/', '-').replaceAll('=', '_');
}
