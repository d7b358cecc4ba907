'use strict';
// Sign OKX V5 requests through okx-vaultd: the bot holds no secret.
// Client speaks the daemon's protocol (proto/PROTOCOL.md), HTTP/1.1 over its Unix
// socket, with Node's http module only. ccxt_okx.js makes a ccxt okx instance
// sign its private requests there.

const http = require('node:http');

const DEFAULT_SOCKET = '/run/okx-vault/okx-vault.sock';

// The socket to use: `path` if given, else $OKX_VAULT_SOCKET, else the default.
function resolveSocketPath(path) {
  return path || process.env.OKX_VAULT_SOCKET || DEFAULT_SOCKET;
}

// An error from the daemon with its stable `code` (key_not_found, policy_denied,
// ...), or `unreachable` / `protocol_error` when the daemon cannot be reached or
// answers outside the protocol. `rule` names the rule behind a policy_denied;
// `status` is the HTTP status (undefined if there was none).
class VaultError extends Error {
  constructor(code, message, status, rule) {
    super(`${code}: ${message}`);
    this.name = 'VaultError';
    this.code = code;
    this.status = status;
    this.rule = rule;
  }
}

// Keep-alive connections to okx-vaultd; calls return promises and may overlap.
// A request on a connection the daemon closed is retried once where that is safe
// (see exchange).
class Client {
  constructor({ socketPath, timeout = 10000 } = {}) {
    this.socketPath = resolveSocketPath(socketPath);
    this.timeout = timeout;
    this.agent = new http.Agent({ keepAlive: true });
  }

  close() {
    this.agent.destroy();
  }

  // {version, locked, keys, uptime_seconds}
  status() {
    return this.call('GET', '/v1/status');
  }

  // Metadata of the keys this caller may see; never secrets.
  async list() {
    return (await this.call('GET', '/v1/keys')).keys;
  }

  // {timestamp, headers} for one OKX V5 REST request. `path` (with its query) and
  // `body` are exactly what will be sent; `timestamp` (ISO 8601 with
  // milliseconds) must be within the daemon's allowed skew of its clock.
  sign(name, { method, path, body = '', timestamp } = {}) {
    const request = { method, path, body };
    if (timestamp !== undefined) request.timestamp = timestamp;
    return this.call('POST', keyTarget(name, 'sign'), request);
  }

  // The WebSocket login frame as JSON text, to send as is.
  async wsLogin(name, { timestamp } = {}) {
    const request = timestamp === undefined ? {} : { timestamp };
    return JSON.stringify(await this.call('POST', keyTarget(name, 'ws-login'), request));
  }

  async call(method, target, request) {
    const body = request === undefined ? undefined : JSON.stringify(request);
    const { status, data } = await this.exchange(method, target, body);
    let reply;
    try {
      reply = data.length ? JSON.parse(data) : {};
    } catch {
      throw new VaultError('protocol_error', `reply to ${method} ${target} is not JSON`, status);
    }
    if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) {
      throw new VaultError('protocol_error', `reply to ${method} ${target} is not a JSON object`, status);
    }
    if (status >= 300) {
      const error = reply.error;
      if (!error || typeof error.code !== 'string') {
        throw new VaultError('protocol_error', `HTTP ${status} without an error object`, status);
      }
      throw new VaultError(error.code, String(error.message ?? ''), status, error.rule);
    }
    return reply;
  }

  // A kept-alive connection that closed under us is retried once, on a new
  // connection, only where that cannot do anything twice: when the request was
  // never wholly written (the daemon closed it while idle; no handler saw an
  // incomplete request), or when repeating it is harmless (reads, and sign and
  // ws-login, which change nothing but the usage counter). Otherwise the daemon
  // may have done it and only its reply was lost.
  async exchange(method, target, body) {
    try {
      return await this.exchangeOnce(method, target, body);
    } catch (error) {
      if (!error.staleConnection || (error.sent && !repeatable(method, target))) throw error;
      return this.exchangeOnce(method, target, body);
    }
  }

  exchangeOnce(method, target, body) {
    return new Promise((resolve, reject) => {
      const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
      const request = http.request({ socketPath: this.socketPath, agent: this.agent, method, path: target, headers });
      let sent = false;
      request.on('finish', () => { sent = true; });
      request.setTimeout(this.timeout, () => request.destroy(new VaultError('unreachable', `okx-vaultd at ${this.socketPath} did not answer within ${this.timeout} ms`)));
      request.on('response', (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode, data: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => reject(new VaultError('unreachable', `okx-vaultd at ${this.socketPath}: ${error.message}`)));
      });
      request.on('error', (error) => {
        if (error instanceof VaultError) return reject(error);
        if (String(error.code).startsWith('HPE_')) {
          return reject(new VaultError('protocol_error', `okx-vaultd at ${this.socketPath} answered outside HTTP: ${error.code}`));
        }
        const wrapped = new VaultError('unreachable', `cannot reach okx-vaultd at ${this.socketPath}: ${error.code || error.message}`);
        wrapped.staleConnection = request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        wrapped.sent = sent;
        reject(wrapped);
      });
      request.end(body);
    });
  }
}

// Any GET, and POST /v1/keys/{name}/sign or /ws-login (names are encoded).
function repeatable(method, target) {
  return method === 'GET' || (method === 'POST' && /^\/v1\/keys\/[^/]+\/(sign|ws-login)$/.test(target));
}

function keyTarget(name, action) {
  return `/v1/keys/${encodeURIComponent(name)}/${action}`;
}

module.exports = { Client, VaultError, resolveSocketPath, DEFAULT_SOCKET };
