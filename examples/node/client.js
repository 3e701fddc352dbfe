#!/usr/bin/env node
// A v1-signing client for apiserver, Node built-ins only (crypto, https).
//
// usage: node client.js [--credential FILE] [--cacert FILE] BASE_URL
//        node client.js --vectors docs/v1-vectors.json
//
// The credential file holds key_id=, version= and secret= lines (default:
// $APISERVER_CREDENTIAL).  Does a signed GET /api/whoami?x=1&y=a+b and a
// JSON POST /api/data, printing each response; exits 1 on any failure.
// --vectors recomputes every test vector and exits 1 on a mismatch.
// See docs/protocol.md for the scheme.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');

function canonical(r) {
  return [
    'APIHMAC1', r.method, r.host.toLowerCase(), r.path, r.query,
    r.contentType || '', r.keyId, String(r.keyVersion), String(r.timestamp),
    r.nonce, crypto.createHash('sha256').update(r.body).digest('hex'),
  ].join('\n');
}

function signature(secret, canon) {
  return crypto.createHmac('sha256', Buffer.from(secret, 'ascii'))
    .update(canon, 'utf8').digest('hex');
}

function splitTarget(target) {
  const i = target.indexOf('?');
  return i < 0 ? [target, ''] : [target.slice(0, i), target.slice(i + 1)];
}

function readCredential(path) {
  const cred = {};
  for (const line of fs.readFileSync(path, 'utf8').split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('#')) cred[line.slice(0, i)] = line.slice(i + 1);
  }
  for (const k of ['key_id', 'version', 'secret']) {
    if (!cred[k]) throw new Error(`${path}: not a credential file (no ${k}=)`);
  }
  return cred;
}

function signedRequest(base, cred, ca, method, target, body, contentType) {
  const u = new URL(base);
  const host = u.host; // the authority exactly as in the URL
  const [path, query] = splitTarget(target);
  if (body.length && contentType === undefined) contentType = 'application/json';
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = crypto.randomBytes(18).toString('base64url'); // 24 chars
  const canon = canonical({
    method, host, path, query, contentType, keyId: cred.key_id,
    keyVersion: cred.version, timestamp, nonce, body,
  });
  const headers = {
    Host: host,
    'X-Key-Id': cred.key_id,
    'X-Key-Version': cred.version,
    'X-Timestamp': String(timestamp),
    'X-Nonce': nonce,
    'X-API-Signature': signature(cred.secret, canon),
    Connection: 'close',
  };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  if (body.length || ['POST', 'PUT', 'PATCH'].includes(method)) {
    headers['Content-Length'] = String(body.length);
  }
  let mod;
  // agent: false and Connection: close: one connection per request, the
  // simplest for a short-lived script.
  const opts = {
    host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined,
    method, path: target, headers, timeout: 30000, agent: false,
  };
  if (u.protocol === 'https:') {
    mod = https;
    if (ca) opts.ca = fs.readFileSync(ca);
    // An IP literal must not be sent as SNI; Node checks the IP SAN itself.
    opts.servername = /^[\d.]+$|:/.test(opts.host) ? '' : opts.host;
  } else if (u.protocol === 'http:' &&
             ['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    mod = http;
  } else {
    return Promise.reject(new Error(`refusing ${base}: use https:// ` +
                                    '(plain http only to loopback)'));
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve([res.statusCode, Buffer.concat(chunks)]));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function checkVectors(path) {
  const vectors = JSON.parse(fs.readFileSync(path, 'utf8')).vectors;
  let good = 0;
  for (const v of vectors) {
    const [p, q] = splitTarget(v.target);
    const canon = canonical({
      method: v.method, host: v.host, path: p, query: q,
      contentType: v.content_type, keyId: v.key_id,
      keyVersion: v.key_version, timestamp: v.timestamp, nonce: v.nonce,
      body: Buffer.from(v.body_base64, 'base64'),
    });
    const ok = canon === v.canonical && signature(v.secret, canon) === v.signature;
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${v.description}`);
    if (ok) good++;
  }
  console.log(`vectors: ${good}/${vectors.length} match`);
  return good === vectors.length;
}

function parseArgs(argv) {
  const a = { credential: process.env.APISERVER_CREDENTIAL };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (['--credential', '--cacert', '--vectors'].includes(k)) {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      a[k.slice(2)] = argv[++i];
    } else if (k.startsWith('-')) {
      throw new Error(`unknown flag ${k}`);
    } else {
      a.base = k;
    }
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.vectors) return checkVectors(a.vectors) ? 0 : 1;
  if (!a.base || !a.credential) {
    throw new Error('need BASE_URL and --credential (or APISERVER_CREDENTIAL)');
  }
  const cred = readCredential(a.credential);
  const base = a.base.replace(/\/+$/, '');
  let failed = false;
  for (const [method, target, body] of [
    ['GET', '/api/whoami?x=1&y=a+b', Buffer.alloc(0)],
    ['POST', '/api/data', Buffer.from(JSON.stringify({ temp: 21.5, unit: 'C' }))],
  ]) {
    const [status, data] = await signedRequest(base, cred, a.cacert, method,
                                               target, body);
    console.log(`${method} ${target} -> HTTP ${status}`);
    console.log(data.toString('utf8'));
    if (status < 200 || status > 299) failed = true;
  }
  return failed ? 1 : 0;
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
  console.error(`client.js: ${e.message}`);
  process.exitCode = 1;
});
