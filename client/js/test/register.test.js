'use strict';
// okx-vault/register: unchanged ccxt bots, CommonJS and ES modules, in child
// processes as they would be run, against a real okx-vaultd, with each ccxt
// version (example_bots/). Each bot runs in a directory of its own where `ccxt` and
// `okx-vault` are installed packages (symbolic links to them). The trade bots
// set no hook at all: ccxt sends their requests over HTTPS to a stand-in OKX
// (test/okx_standin.js) that checks every signature as OKX would.

const assert = require('node:assert/strict');
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { VERSIONS } = require('./ccxt_versions');
const { OkxStandIn } = require('./okx_standin');
const { okxSign } = require('./reference');
const { VaultDaemon } = require('./vault_daemon');

const API_KEY = '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418';
const SECRET = 'SECRET-register-js-9a8b7c6d5e4f3a2b1c0d';
const PASSPHRASE = 'PASSPHRASE-register-js-Mm3';
const PACKAGE = path.resolve(__dirname, '..');
const BOTS = path.join(PACKAGE, 'example_bots'); // unchanged ccxt bots

let daemon;
let tls; // the stand-in OKX's certificate, for 127.0.0.1, and its key
before(async () => {
  daemon = await VaultDaemon.start();
  daemon.addKey('main', API_KEY, SECRET, PASSPHRASE);
  const key = path.join(daemon.dir, 'okx-standin.key');
  const cert = path.join(daemon.dir, 'okx-standin.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  tls = { key: fs.readFileSync(key), cert: fs.readFileSync(cert), certFile: cert };
});
after(async () => {
  await daemon.close();
});

// A stand-in OKX of its own for one test (they run concurrently), on HTTPS
// as OKX is: ccxt 4.4 sends every request with an https agent.
async function standIn(t) {
  const okx = await OkxStandIn.start({ [API_KEY]: [SECRET, PASSPHRASE] }, { tls });
  t.after(() => okx.close());
  return okx;
}

function run(dir, args, env = {}) {
  const childEnv = { ...process.env, OKX_VAULT_SOCKET: daemon.socket, ...env };
  if (!('NODE_OPTIONS' in env)) delete childEnv.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: dir, env: childEnv, timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function verify({ headers, method, url, body }, secret, apiKey, passphrase) {
  const signedPath = url.slice(url.indexOf('/api/'));
  assert.equal(headers['OK-ACCESS-SIGN'], okxSign(secret, headers['OK-ACCESS-TIMESTAMP'] + method + signedPath + (body ?? '')));
  assert.equal(headers['OK-ACCESS-KEY'], apiKey);
  assert.equal(headers['OK-ACCESS-PASSPHRASE'], passphrase);
}

for (const { version, dir: ccxtDir } of VERSIONS) {
  describe(`ccxt ${version}: okx-vault/register`, { concurrency: true }, () => {
    let dir;
    let esmVersion; // ccxt 4.5.84's ES module build calls itself 4.5.83
    before(async () => {
      esmVersion = (await import(require('node:url').pathToFileURL(path.join(ccxtDir, 'js', 'ccxt.js')).href)).default.version;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okxv-bot-'));
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ccxtDir, path.join(dir, 'node_modules', 'ccxt'), 'dir');
      fs.symlinkSync(PACKAGE, path.join(dir, 'node_modules', 'okx-vault'), 'dir');
      for (const file of fs.readdirSync(BOTS)) {
        fs.copyFileSync(path.join(BOTS, file), path.join(dir, file));
      }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function bot(build, args, env) {
      const { code, stdout, stderr } = await run(dir, args, env);
      assert.equal(code, 0, stderr);
      const result = JSON.parse(stdout.trim().split('\n').pop());
      assert.equal(result.version, build === 'esm' ? esmVersion : version);
      assert.equal(result.build, build);
      verify(result.sent.vault, SECRET, API_KEY, PASSPHRASE);
      verify(result.sent.pro, SECRET, API_KEY, PASSPHRASE);
      verify(result.sent.plain, 'plain-secret', 'plain-key', 'plain-pass'); // untouched
      assert.equal(result.refused, 'AuthenticationError'); // a live key in sandbox mode
      assert.equal(result.sent.sandbox, undefined);
      assert.equal(stdout.includes(SECRET) || stderr.includes(SECRET), false);
    }

    test('CommonJS bot, node --require okx-vault/register', () => bot('cjs', ['--require', 'okx-vault/register', 'bot.cjs']));
    test('CommonJS bot, NODE_OPTIONS=--require=okx-vault/register', () => bot('cjs', ['bot.cjs'], { NODE_OPTIONS: '--require=okx-vault/register' }));
    test('CommonJS bot that requires okx-vault/register itself, after ccxt', () => bot('cjs', ['bot-require.cjs']));
    test('ES module bot, node --require okx-vault/register', () => bot('esm', ['--require', 'okx-vault/register', 'bot.mjs']));
    test('ES module bot, NODE_OPTIONS=--require=okx-vault/register', () => bot('esm', ['bot.mjs'], { NODE_OPTIONS: '--require=okx-vault/register' }));
    test('ES module bot, NODE_OPTIONS=--require=/absolute/path/register.js', () => bot('esm', ['bot.mjs'], { NODE_OPTIONS: `--require=${path.join(PACKAGE, 'register.js')}` }));
    test('ES module bot, node --import okx-vault/register', () => bot('esm', ['--import', 'okx-vault/register', 'bot.mjs']));

    // A trade bot run as a user would: its config in the environment, the
    // secret okx-vault:main, OKX's URL that of the stand-in, whose certificate
    // node trusts as an extra CA (NODE_EXTRA_CA_CERTS).
    async function trade(t, build, args, config = {}) {
      const okx = await standIn(t);
      const env = { OKX_SECRET: 'okx-vault:main', OKX_REST_URL: okx.url, NODE_EXTRA_CA_CERTS: tls.certFile, ...config };
      const { code, stdout, stderr } = await run(dir, args, env);
      assert.equal(code, 0, stderr);
      const result = JSON.parse(stdout.trim().split('\n').pop());
      assert.equal(result.build, build);
      assert.equal(result.version, build === 'esm' ? esmVersion : version);
      assert.equal(result.usdt, 100);
      assert.equal(result.order, '1001');
      const sent = okx.requests.filter((r) => r.headers['ok-access-sign'] !== undefined);
      const routes = sent.map((r) => `${r.method} ${r.path.split('?')[0]}`);
      assert.ok(routes.includes('GET /api/v5/asset/currencies'), routes.join(', '));
      assert.ok(routes.includes('GET /api/v5/account/balance'), routes.join(', '));
      assert.ok(routes.some((r) => /^POST \/api\/v5\/trade\/(batch-orders|order)$/.test(r)), routes.join(', '));
      assert.deepEqual(sent.map((r) => r.refusal), sent.map(() => undefined), 'the stand-in OKX refused a signature');
      assert.equal(stdout.includes(SECRET) || stderr.includes(SECRET), false);
    }

    test('unchanged CommonJS trade bot over HTTPS, node --require okx-vault/register', (t) =>
      trade(t, 'cjs', ['--require', 'okx-vault/register', 'trade.cjs']));
    test('unchanged ES module trade bot over HTTPS, NODE_OPTIONS=--require=okx-vault/register', (t) =>
      trade(t, 'esm', ['trade.mjs'], { NODE_OPTIONS: '--require=okx-vault/register' }));
    test('unchanged trade bot with its real apiKey and a password beside the okx-vault: secret', (t) =>
      trade(t, 'cjs', ['--require', 'okx-vault/register', 'trade.cjs'], { OKX_API_KEY: API_KEY, OKX_PASSWORD: 'okx-vault' }));

    test('the trade bot without the register sends nothing signed', async (t) => {
      const okx = await standIn(t);
      const { code, stderr } = await run(dir, ['trade.cjs'], { OKX_SECRET: 'okx-vault:main', OKX_REST_URL: okx.url, NODE_EXTRA_CA_CERTS: tls.certFile });
      assert.notEqual(code, 0);
      assert.match(stderr, /apiKey/);
      assert.equal(okx.requests.some((r) => r.headers['ok-access-sign'] !== undefined), false);
    });

    test('without the register, ccxt is ccxt: no api key, no request', async () => {
      const { code, stderr } = await run(dir, ['bot.mjs']);
      assert.notEqual(code, 0);
      assert.match(stderr, /apiKey/);
    });
  });
}
