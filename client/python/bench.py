#!/usr/bin/env python3
"""Sign round trip through okx-vaultd: okx_vault.Client (threads), okx_vault.aio
(asyncio) and two minimal raw clients, one on a blocking socket and one on
asyncio's streams, the same request on the same daemon, each on one kept-alive
connection, side by side. Each client's ratio is to the raw client of its own
kind: okx_vault.Client to the raw socket, okx_vault.aio to raw asyncio (the
target is 1.5x at most); raw asyncio's is to the raw socket, the cost of
asyncio itself. The output names each ratio's baseline.

    python3 client/python/bench.py                        # a daemon of its own
    python3 client/python/bench.py --socket PATH --key NAME

Without --socket it starts okx-vaultd ($OKX_VAULTD_BINARY, else build/daemon/
okx-vaultd) in a temporary directory with a throwaway key, added with okx-vault
($OKX_VAULT_CLI_BINARY, else build/client/okx-vault).
"""

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "tests")]

from okx_vault import Client  # noqa: E402
from okx_vault.aio import AsyncClient  # noqa: E402

PATH = "/api/v5/account/balance?ccy=BTC,USDT"


class RawClient:
    """The least a sign needs: one request written, one reply read by its Content-Length."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""

    def sign(self, key, method, path):
        body = json.dumps({"method": method, "path": path, "body": ""}).encode()
        self.sock.sendall(b"POST /v1/keys/%s/sign HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (key.encode(), len(body), body))
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self.sock.recv(65536)
        start = buffer.find(b"Content-Length:", 0, end) + 15
        length = int(buffer[start:buffer.find(b"\r\n", start)])
        while len(buffer) < end + 4 + length:
            buffer += self.sock.recv(65536)
        self.buffer = buffer[end + 4 + length:]
        return json.loads(buffer[end + 4:end + 4 + length])

    def close(self):
        self.sock.close()


class RawAsyncClient:
    """The same on asyncio's streams: the least an asyncio client can do."""

    @classmethod
    async def open(cls, path):
        self = cls()
        self.reader, self.writer = await asyncio.open_unix_connection(path)
        return self

    async def sign(self, key, method, path):
        body = json.dumps({"method": method, "path": path, "body": ""}).encode()
        self.writer.write(b"POST /v1/keys/%s/sign HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (key.encode(), len(body), body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        start = head.find(b"Content-Length:") + 15
        return json.loads(await self.reader.readexactly(int(head[start:head.find(b"\r\n", start)])))

    def close(self):
        self.writer.close()


def measure(call, count):
    times = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return times


async def measure_async(call, count):
    times = []
    for _ in range(count):
        start = time.perf_counter_ns()
        await call()
        times.append(time.perf_counter_ns() - start)
    return times


def summary(times):
    ordered = sorted(times)
    return {"median": statistics.median(ordered) / 1000, "mean": statistics.fmean(ordered) / 1000,
            "p99": ordered[int(len(ordered) * 0.99) - 1] / 1000}


def run(socket_path, key, count, rounds):
    raw = RawClient(socket_path)
    sync = Client(socket_path)
    results = {"raw socket": [], "okx_vault.Client": [], "raw asyncio": [], "okx_vault.aio": []}

    async def aio_rounds(client, n):
        return await measure_async(lambda: client.sign(key, "GET", PATH), n)

    loop = asyncio.new_event_loop()
    aio = AsyncClient(socket_path)
    raw_aio = loop.run_until_complete(RawAsyncClient.open(socket_path))
    loop.run_until_complete(aio_rounds(raw_aio, 200))
    for call in (lambda: raw.sign(key, "GET", PATH), lambda: sync.sign(key, "GET", PATH)):
        measure(call, 200)  # warm-up: connections open, code paths hot
    loop.run_until_complete(aio_rounds(aio, 200))
    # Interleaved rounds, so that a slower moment of a shared machine falls on all three.
    for _ in range(rounds):
        results["raw socket"] += measure(lambda: raw.sign(key, "GET", PATH), count // rounds)
        results["okx_vault.Client"] += measure(lambda: sync.sign(key, "GET", PATH), count // rounds)
        results["raw asyncio"] += loop.run_until_complete(aio_rounds(raw_aio, count // rounds))
        results["okx_vault.aio"] += loop.run_until_complete(aio_rounds(aio, count // rounds))
    loop.run_until_complete(aio.aclose())
    raw_aio.close()
    loop.close()
    sync.close()
    raw.close()
    return {name: summary(times) for name, times in results.items()}


# Each client's ratio is taken against the raw client doing the same on the same
# kind of I/O.
BASELINES = {"okx_vault.Client": "raw socket", "raw asyncio": "raw socket", "okx_vault.aio": "raw asyncio"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", help="a running okx-vaultd's socket (default: start one)")
    parser.add_argument("--key", default="bench", help="the key to sign with (default: bench)")
    parser.add_argument("--count", type=int, default=20000, help="signs per client (default: 20000)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default: 10)")
    args = parser.parse_args()
    daemon = None
    socket_path = args.socket
    if socket_path is None:
        from vault_daemon import VaultDaemon

        daemon = VaultDaemon()
        daemon.add_key(args.key, "bench-api-key-0000", "bench-secret-not-a-real-one", "bench-passphrase")
        socket_path = daemon.socket
    try:
        results = run(socket_path, args.key, args.count, args.rounds)
    finally:
        if daemon is not None:
            daemon.close()
    print(f"sign round trip, {args.count} signs each, one kept-alive connection, Python {sys.version.split()[0]}")
    print(f"{'client':<18} {'median µs':>10} {'mean µs':>10} {'p99 µs':>10} {'median ratio':>13} {'mean ratio':>11}  baseline")
    for name, result in results.items():
        baseline = BASELINES.get(name)
        if baseline is None:
            ratios = f"{'':>13} {'':>11}  -"
        else:
            base = results[baseline]
            ratios = (f"{result['median'] / base['median']:>12.2f}x {result['mean'] / base['mean']:>10.2f}x"
                      f"  {baseline}")
        print(f"{name:<18} {result['median']:>10.1f} {result['mean']:>10.1f} {result['p99']:>10.1f} {ratios}")


if __name__ == "__main__":
    main()
