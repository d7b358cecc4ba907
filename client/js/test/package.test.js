'use strict';
// The npm package: its licence is the project's, `npm pack` makes a tarball of
// exactly the files it needs, and each export works from that tarball once
// unpacked into a node_modules (with ccxt beside it).

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { VERSIONS } = require('./ccxt_versions');

const PACKAGE = path.resolve(__dirname, '..');
const NPM = process.env.NPM_EXECUTABLE || 'npm';
const FILES = ['LICENSE', 'README.md', 'ccxt_okx.js', 'ccxt_shim.js', 'esm_hooks.mjs', 'okx_vault.js', 'package.json', 'register.js'];

test('the package\'s LICENSE is the project\'s', () => {
  const project = fs.readFileSync(path.join(PACKAGE, '..', '..', 'LICENSE'));
  assert.ok(project.includes('MIT'));
  assert.ok(fs.readFileSync(path.join(PACKAGE, 'LICENSE')).equals(project), 'client/js/LICENSE differs from LICENSE');
  assert.equal(JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')).license, 'MIT');
});

let dir;
let packed;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okxv-pack-'));
  const out = execFileSync(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: PACKAGE, encoding: 'utf8' });
  [packed] = JSON.parse(out);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  execFileSync('tar', ['-xzf', path.join(dir, packed.filename), '-C', modules]);
  fs.renameSync(path.join(modules, 'package'), path.join(modules, 'okx-vault'));
  fs.symlinkSync(VERSIONS[0].dir, path.join(modules, 'ccxt'), 'dir');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('npm pack: the files of the package and nothing else', () => {
  assert.equal(packed.name, 'okx-vault');
  assert.deepEqual(packed.files.map((f) => f.path).sort(), FILES);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'node_modules', 'okx-vault')).sort(), FILES);
});

function node(args, input) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH; // only what is in the directory's node_modules
  return execFileSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8', input });
}

test('each export, required from the unpacked tarball', () => {
  const out = node(['-e', `
    const where = (name) => require.resolve(name).startsWith(${JSON.stringify(path.join(fs.realpathSync(dir), 'node_modules', 'okx-vault'))});
    const { Client, VaultError } = require('okx-vault');
    const { vaultOkx } = require('okx-vault/ccxt');
    require('okx-vault/register');
    const ccxt = require('ccxt');
    const patched = Object.getOwnPropertySymbols(ccxt.okx.prototype).some((s) => s.description === 'okx-vault.ccxt.patched');
    console.log(JSON.stringify({ client: typeof Client, error: typeof VaultError, vaultOkx: typeof vaultOkx, patched,
      where: ['okx-vault', 'okx-vault/ccxt', 'okx-vault/register'].every(where), version: require('okx-vault/package.json').version }));
  `]);
  assert.deepEqual(JSON.parse(out), { client: 'function', error: 'function', vaultOkx: 'function', patched: true, where: true, version: '0.1.0' });
});

test('each export, imported from the unpacked tarball; --import okx-vault/register patches ccxt\'s ES module build', () => {
  const out = node(['--import', 'okx-vault/register', '--input-type=module'], `
    import { Client } from 'okx-vault';
    import { vaultOkx } from 'okx-vault/ccxt';
    import ccxt from 'ccxt';
    const patched = Object.getOwnPropertySymbols(ccxt.pro.okx.prototype).some((s) => s.description === 'okx-vault.ccxt.patched');
    const exchange = vaultOkx(ccxt, { key: 'main', socketPath: '/nonexistent/okx-vault.sock' });
    const error = await exchange.privateGetAccountBalance().catch((e) => e);
    await exchange.close();
    console.log(JSON.stringify({ client: typeof Client, vaultOkx: typeof vaultOkx, patched, networkError: error instanceof ccxt.NetworkError }));
  `);
  assert.deepEqual(JSON.parse(out), { client: 'function', vaultOkx: 'function', patched: true, networkError: true });
});
