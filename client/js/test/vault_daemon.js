'use strict';
// A real okx-vaultd in a temporary directory, keys added with the real CLI.
// The binaries come from $OKX_VAULTD_BINARY and $OKX_VAULT_CLI_BINARY (ctest
// sets them), else from the build directory at the top of the source tree.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BUILD = path.resolve(__dirname, '..', '..', '..', 'build');
const daemonBinary = () => process.env.OKX_VAULTD_BINARY || path.join(BUILD, 'daemon', 'okx-vaultd');
const cliBinary = () => process.env.OKX_VAULT_CLI_BINARY || path.join(BUILD, 'client', 'okx-vault');

function listening(socketPath) {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.on('connect', () => { probe.destroy(); resolve(true); });
    probe.on('error', () => resolve(false));
  });
}

class VaultDaemon {
  static async start(...extraArgs) {
    const daemon = new VaultDaemon(extraArgs);
    await daemon.waitListening();
    return daemon;
  }

  constructor(extraArgs) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okxv-js-'));
    this.socket = path.join(this.dir, 'okx-vault.sock');
    this.logPath = path.join(this.dir, 'daemon.log');
    this.args = ['--state-dir', path.join(this.dir, 'state'), '--socket', this.socket, '--threads', '2', ...extraArgs];
    const init = spawnSync(daemonBinary(), ['--init', ...this.args], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`okx-vaultd --init failed: ${init.stderr}${init.error ?? ''}`);
    const log = fs.openSync(this.logPath, 'a');
    this.process = spawn(daemonBinary(), this.args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
  }

  async waitListening() {
    const deadline = Date.now() + 20000;
    while (!(await listening(this.socket))) {
      if (this.process.exitCode !== null || Date.now() > deadline) {
        const error = new Error(`okx-vaultd did not start: ${this.log()}`);
        await this.close().catch(() => {});
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  cli(args, input = '') {
    return spawnSync(cliBinary(), ['--socket', this.socket, ...args], { input, encoding: 'utf8' });
  }

  // Adds a key with the CLI, the secret and passphrase on its stdin.
  addKey(name, apiKey, secret, passphrase, ...extra) {
    const out = this.cli(['add', name, '--api-key', apiKey, ...extra], `${secret}\n${passphrase}\n`);
    if (out.status !== 0) throw new Error(`okx-vault add ${name} failed: ${out.stderr}`);
    return out;
  }

  log() {
    return fs.readFileSync(this.logPath, 'utf8');
  }

  // Every file the daemon wrote, concatenated.
  stateBytes() {
    const files = fs.readdirSync(this.dir, { recursive: true }).map((f) => path.join(this.dir, f));
    return Buffer.concat(files.filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f)));
  }

  // Stops the daemon as systemd would; throws unless it exited cleanly (under
  // the sanitizers, a leak or an error makes that exit non-zero).
  async stop() {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGTERM');
    const code = await this.exited;
    if (code !== 0) throw new Error(`okx-vaultd exited with ${code ?? this.process.signalCode}: ${this.log()}`);
  }

  async close() {
    try {
      await this.stop();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

module.exports = { VaultDaemon };
