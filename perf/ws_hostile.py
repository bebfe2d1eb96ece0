"""Hostile operations over the websocket, for perf/hostile.sh: each of
N sockets (8 at a time) opens, says connection_init with the token, sends
one operation and prints the error code of its answer and the time it
took, then closes.  Needs `pip install websockets`.
    python3 perf/ws_hostile.py URL TOKEN BODY_FILE N
"""
import asyncio
import json
import sys
import time

import websockets


async def one(url, token, payload):
    started = time.monotonic()
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"Authorization": f"Bearer {token}"}}))
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            return f"refused {time.monotonic() - started:.3f}"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        answer = json.loads(await ws.recv())
        errors = answer.get("payload", {}).get("errors") or [{}]
        code = errors[0].get("extensions", {}).get("code", "none")
        return f"{code} {time.monotonic() - started:.3f}"


async def main(url, token, body_file, count):
    payload = json.load(open(body_file))
    gate = asyncio.Semaphore(8)

    async def limited():
        async with gate:
            return await one(url, token, payload)

    for line in await asyncio.gather(*(limited() for _ in range(count))):
        print(line)


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
