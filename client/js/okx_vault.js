'use strict';
// Sign OKX V5 requests through okx-vaultd: the bot holds no secret.
// Client speaks the daemon's protocol (proto/PROTOCOL.md), HTTP/1.1 over its Unix
// socket, with a minimal HTTP/1.1 client of its own on node:net (node:http's
// client costs more than the daemon's whole sign). ccxt_shim.js makes ccxt's
// okx sign its private requests there.

const net = require('node:net');

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

// A small pool of keep-alive connections to okx-vaultd: calls return promises
// and may overlap, each on a connection of its own, at most `maxConnections`
// (8) of them; further calls wait for one to be free, in order (the daemon
// allows 64 connections per uid, so a burst of calls must not open one each).
// A request on a connection the daemon closed is retried once where that is
// safe (see exchange). Idle connections do not keep the process alive. The
// timeout counts from the call, waiting included.
class Client {
  constructor({ socketPath, timeout = 10000, maxConnections = 8 } = {}) {
    if (!(Number.isInteger(maxConnections) && maxConnections >= 1)) {
      throw new TypeError('okx-vault: maxConnections must be a positive integer');
    }
    this.socketPath = resolveSocketPath(socketPath);
    this.timeout = timeout;
    this.maxConnections = maxConnections;
    this.idle = []; // connections waiting for a request, the most recent last
    this.connections = new Set(); // every open (or opening) connection, idle or busy
    this.waiting = []; // calls waiting for a connection, the oldest first
  }

  // Closes every connection; a call in flight or waiting for a connection
  // fails as unreachable. The client can still be used: it opens new ones.
  close() {
    const waiting = this.waiting;
    this.waiting = [];
    for (const connection of this.connections) connection.socket.destroy();
    this.connections.clear();
    this.idle.length = 0;
    for (const request of waiting) {
      clearTimeout(request.timer);
      request.reject(new VaultError('unreachable', `okx-vault client for ${this.socketPath} closed`));
    }
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

  // One request and its reply: {status, data}. On an idle connection, else a
  // new one while there are fewer than maxConnections, else the first to be
  // free.
  exchangeOnce(method, target, body) {
    return new Promise((resolve, reject) => {
      const head = body === undefined
        ? `${method} ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`
        : `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const request = {
        resolve, reject, data: body === undefined ? head : head + body, connection: undefined, reused: false, sent: false, received: false, timer: undefined,
      };
      request.timer = setTimeout(() => this.timedOut(request), this.timeout);
      const idle = this.idle.pop();
      if (idle !== undefined) {
        idle.socket.ref();
        this.start(request, idle, true);
      } else if (this.connections.size < this.maxConnections) {
        this.start(request, this.connect(), false);
      } else {
        this.waiting.push(request);
      }
    });
  }

  start(request, connection, reused) {
    request.connection = connection;
    request.reused = reused;
    connection.request = request;
    connection.socket.write(request.data, (error) => { if (!error) request.sent = true; });
  }

  timedOut(request) {
    const error = new VaultError('unreachable', `okx-vaultd at ${this.socketPath} did not answer within ${this.timeout} ms`);
    if (request.connection !== undefined) return this.fail(request.connection, error);
    const at = this.waiting.indexOf(request);
    if (at >= 0) this.waiting.splice(at, 1);
    return request.reject(error);
  }

  // Starts waiting calls on new connections while there is room for them.
  drain() {
    while (this.waiting.length > 0 && this.connections.size < this.maxConnections) {
      this.start(this.waiting.shift(), this.connect(), false);
    }
  }

  connect() {
    const connection = { socket: net.connect(this.socketPath), buffer: undefined, request: undefined, headEnd: -1, status: 0, length: -1, keepAlive: true };
    connection.socket.on('data', (chunk) => this.received(connection, chunk));
    connection.socket.on('error', (error) => this.closed(connection, error));
    connection.socket.on('close', () => this.closed(connection, undefined));
    this.connections.add(connection);
    return connection;
  }

  received(connection, chunk) {
    const request = connection.request;
    if (!request) return connection.socket.destroy(); // nothing was asked
    request.received = true;
    connection.buffer = connection.buffer ? Buffer.concat([connection.buffer, chunk]) : chunk;
    const buffer = connection.buffer;
    if (connection.headEnd < 0) {
      if (buffer.length >= 5 && buffer.toString('latin1', 0, 5) !== 'HTTP/') return this.outsideHttp(connection);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return buffer.length > 65536 ? this.outsideHttp(connection) : undefined;
      const head = buffer.toString('latin1', 0, end);
      const status = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r\n/.exec(head + '\r\n');
      if (!status) return this.outsideHttp(connection);
      const length = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r\n|$)/i.exec(head);
      if (/\r\ntransfer-encoding:/i.test(head)) return this.outsideHttp(connection, 'a Transfer-Encoding');
      connection.headEnd = end + 4;
      connection.status = Number(status[1]);
      connection.length = length ? Number(length[1]) : -1; // -1: the body ends with the connection
      connection.keepAlive = length !== null && !/\r\nconnection:[ \t]*close/i.test(head);
    }
    if (connection.length < 0 || buffer.length < connection.headEnd + connection.length) return undefined;
    const data = buffer.toString('utf8', connection.headEnd, connection.headEnd + connection.length);
    const extra = buffer.length > connection.headEnd + connection.length;
    this.done(connection, { status: connection.status, data }, connection.keepAlive && !extra);
    return undefined;
  }

  done(connection, reply, keepAlive) {
    const { request } = connection;
    clearTimeout(request.timer);
    connection.request = undefined;
    connection.buffer = undefined;
    connection.headEnd = -1;
    if (keepAlive && this.connections.has(connection)) {
      if (this.waiting.length > 0) {
        this.start(this.waiting.shift(), connection, true);
      } else {
        connection.socket.unref();
        this.idle.push(connection);
      }
    } else {
      this.connections.delete(connection);
      connection.socket.destroy();
      this.drain();
    }
    request.resolve(reply);
  }

  outsideHttp(connection, what = 'bytes') {
    this.fail(connection, new VaultError('protocol_error', `okx-vaultd at ${this.socketPath} answered outside HTTP: ${what}`));
  }

  // Fails the connection's request with `error` and drops the connection.
  fail(connection, error) {
    const { request } = connection;
    this.forget(connection);
    connection.socket.destroy();
    if (!request) return;
    clearTimeout(request.timer);
    request.reject(error);
  }

  forget(connection) {
    this.connections.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    this.drain();
  }

  closed(connection, error) {
    const { request } = connection;
    this.forget(connection);
    if (!request) return;
    connection.request = undefined;
    clearTimeout(request.timer);
    if (!error && connection.headEnd >= 0 && connection.length < 0) { // a body that ends with the connection
      request.resolve({ status: connection.status, data: connection.buffer.toString('utf8', connection.headEnd) });
      return;
    }
    const why = error ? error.code || error.message : 'connection closed';
    const wrapped = new VaultError('unreachable', `cannot reach okx-vaultd at ${this.socketPath}: ${why}`);
    // Closed before any reply on a kept-alive connection: the daemon closed it
    // while it was idle, or dropped it without answering.
    wrapped.staleConnection = request.reused && !request.received && (!error || error.code === 'ECONNRESET' || error.code === 'EPIPE');
    wrapped.sent = request.sent;
    request.reject(wrapped);
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
