"""A minimal, fast Realtime protocol server for the connection benchmarks.

Run by ``bench_connection.py`` in a process of its own::

    python benchmarks/bench_server.py [--port 0] [--max-seconds 900]

It listens on 127.0.0.1 only and prints its port on the first line of stdout.
It stops by itself after ``--max-seconds``, and with ``--watch-stdin`` as soon
as its stdin reaches end of file (the benchmark holds the other end of that
pipe, so the server stops when the benchmark does, however it ends).

Per connection it sends ``session.created`` (the shape of
``tests/data/examples/session.created.json``, with a fresh ``expires_at``) and
then answers a small command set made of client events the clients send
anyway:

* ``session.update`` → ``session.updated`` (the request/answer pair);
* ``response.create`` with ``response.metadata.bench = "stream:N"`` →
  ``response.created``, N identical pre-encoded ``response.output_audio.delta``
  frames (100 ms of random PCM16 audio each) sent as fast as the socket
  takes them, then ``response.done`` with extra ``bench_server_cpu_s`` and
  ``bench_server_wall_s`` fields (the server's own cost of the stream: a CPU
  share near 1 would mean the server, not the client, set the pace);
* ``input_audio_buffer.append`` → counts the decoded audio bytes (no answer);
* ``input_audio_buffer.commit`` → ``input_audio_buffer.committed``, with the
  byte count since the last commit in an extra ``bench_bytes`` field (so a
  client can check that everything arrived).

Everything it sends is encoded once, up front, except the small committed
event. Its trio-websocket settings: 64 MiB messages, 64 KiB reads.
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import trio
import trio_websocket

EXAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "examples"
AUDIO_BYTES_PER_DELTA = 4_800  # 100 ms of PCM16 mono 24 kHz
MAX_MESSAGE_SIZE = 64 * 2**20
RECEIVE_BUFFER_SIZE = 64 * 2**10
RESPONSE_ID = "resp_bench0000000000000001"
ITEM_ID = "item_bench0000000000000001"

#: How an append event starts when a client writes ``type`` first with no
#: spaces (realtime_trio, a raw ``json.dumps``); others take the slow path.
_APPEND_PREFIXES = (
    '{"type":"input_audio_buffer.append"',
    '{"type": "input_audio_buffer.append"',
)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())  # type: ignore[no-any-return]


class Frames:
    """The texts the server sends, encoded once."""

    def __init__(self) -> None:
        created = _example("session.created")
        created["session"]["expires_at"] = int(time.time()) + 3600
        self.session = created["session"]
        self.session_created = _dumps(created)
        self.session_updated = _dumps(
            {
                "type": "session.updated",
                "event_id": "event_bench_session_updated",
                "session": self.session,
            }
        )
        response_created = _example("response.created")
        response_created["response"]["id"] = RESPONSE_ID
        self.response_created = _dumps(response_created)
        response_done = _example("response.done")
        response_done["response"]["id"] = RESPONSE_ID
        self.response_done = _dumps(response_done)
        audio = os.urandom(AUDIO_BYTES_PER_DELTA)
        self.audio_delta = _dumps(
            {
                "type": "response.output_audio.delta",
                "event_id": "event_bench_delta",
                "response_id": RESPONSE_ID,
                "item_id": ITEM_ID,
                "output_index": 0,
                "content_index": 0,
                "delta": binascii.b2a_base64(audio, newline=False).decode("ascii"),
            }
        )

    def response_done_with(self, cpu: float, wall: float) -> str:
        """``response.done`` with the server's CPU and wall seconds for the stream."""
        extra = f',"bench_server_cpu_s":{cpu:.6f},"bench_server_wall_s":{wall:.6f}}}'
        return self.response_done[:-1] + extra

    def committed(self, count: int, nbytes: int) -> str:
        return _dumps(
            {
                "type": "input_audio_buffer.committed",
                "event_id": f"event_bench_committed_{count}",
                "previous_item_id": None,
                "item_id": f"item_bench_input_{count}",
                "bench_bytes": nbytes,
            }
        )


def base64_decoded_length(text: str, start: int, end: int) -> int:
    """Bytes encoded by the base64 text ``text[start:end]`` (padded, no newlines)."""
    length = end - start
    if length == 0:
        return 0
    padding = (text[end - 1] == "=") + (length > 1 and text[end - 2] == "=")
    return length // 4 * 3 - padding


def append_audio_bytes(message: str) -> int | None:
    """The audio byte count of an append event, without decoding its JSON.

    Returns None unless the message is an append with ``type`` first, so that
    anything unusual takes the ordinary ``json.loads`` path. Base64 text holds
    no quotes or escapes, so the string value ends at the next quote.
    """
    if not message.startswith(_APPEND_PREFIXES):
        return None
    key = message.find('"audio"')
    if key < 0:
        return None
    start = message.find('"', message.find(":", key + 7) + 1) + 1
    end = message.find('"', start)
    if start <= 0 or end < 0:
        return None
    return base64_decoded_length(message, start, end)


def stream_count(event: dict[str, Any]) -> int:
    """N from ``response.metadata.bench = "stream:N"`` (0 if absent or invalid)."""
    response = event.get("response")
    metadata = response.get("metadata") if isinstance(response, dict) else None
    bench = metadata.get("bench") if isinstance(metadata, dict) else None
    if isinstance(bench, str) and bench.startswith("stream:"):
        try:
            return max(0, int(bench.removeprefix("stream:")))
        except ValueError:
            return 0
    return 0


async def serve_connection(
    request: trio_websocket.WebSocketRequest, frames: Frames
) -> None:
    ws = await request.accept()
    received = 0
    commits = 0
    try:
        await ws.send_message(frames.session_created)
        while True:
            message = await ws.get_message()
            if isinstance(message, bytes):
                message = message.decode()
            nbytes = append_audio_bytes(message)
            if nbytes is not None:
                received += nbytes
                continue
            event = json.loads(message)
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "session.update":
                await ws.send_message(frames.session_updated)
            elif kind == "input_audio_buffer.append":
                received += len(binascii.a2b_base64(event["audio"]))
            elif kind == "input_audio_buffer.commit":
                commits += 1
                await ws.send_message(frames.committed(commits, received))
                received = 0
            elif kind == "response.create":
                wall, cpu = time.perf_counter(), time.process_time()
                await ws.send_message(frames.response_created)
                delta = frames.audio_delta
                send = ws.send_message
                for _ in range(stream_count(event)):
                    await send(delta)
                await ws.send_message(
                    frames.response_done_with(
                        time.process_time() - cpu, time.perf_counter() - wall
                    )
                )
    except trio_websocket.ConnectionClosed:
        return


async def stop_at_eof(scope: trio.CancelScope) -> None:
    """Cancel ``scope`` when stdin reaches end of file (the parent went away)."""
    stream = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    async with stream:
        while await stream.receive_some(4096):
            pass
    scope.cancel()


async def main_async(port: int, max_seconds: float, watch_stdin: bool) -> None:
    frames = Frames()
    with trio.move_on_after(max_seconds) as scope:
        async with trio.open_nursery() as nursery:

            async def handler(request: trio_websocket.WebSocketRequest) -> None:
                await serve_connection(request, frames)

            server = await nursery.start(
                lambda task_status: trio_websocket.serve_websocket(
                    handler,
                    "127.0.0.1",
                    port,
                    None,
                    max_message_size=MAX_MESSAGE_SIZE,
                    receive_buffer_size=RECEIVE_BUFFER_SIZE,
                    task_status=task_status,
                )
            )
            print(server.port, flush=True)
            if watch_stdin:
                nursery.start_soon(stop_at_eof, scope)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--max-seconds", type=float, default=900.0, help="stop after this long"
    )
    parser.add_argument(
        "--watch-stdin",
        action="store_true",
        help="stop when stdin reaches end of file (how the benchmark stops it)",
    )
    args = parser.parse_args()
    try:
        trio.run(main_async, args.port, args.max_seconds, args.watch_stdin)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
