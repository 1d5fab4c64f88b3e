"""The simulator's side of its simulated calls: placing them, the caller's keys and voice.

`CallControl` is a part of `RealtimeSimulator`: it places a SIP call (its
signed webhook), presses the caller's keys, carries the caller's voice to
the call's session as the call's media would, tells what the caller heard
of the assistant, and hangs up. Each call's sessions are those of its
sideband connections (usually one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Final

import trio

from .._model.ids import IdFactory
from .._model.sim_session import SimSession
from .calls import CallRegistry, SimCall, default_sip_headers, incoming_call_webhook
from .http import http_request
from .sim_connection import ServedConnection

__all__ = ["CallControl"]

_DTMF_KEYS: Final = frozenset("0123456789*#ABCD")


class CallControl:
    """What `RealtimeSimulator` does with its simulated calls (see the module docstring)."""

    calls: CallRegistry
    _ids: IdFactory
    _live: dict[int, ServedConnection]

    def _sidebands(self, call_id: str) -> list[ServedConnection]:
        """The open sideband connections of a call."""
        return [s for s in list(self._live.values()) if s.record.call_id == call_id]

    async def _end_call(self, call_id: str, reason: str) -> None:
        for served in self._sidebands(call_id):
            await served.close(1000, reason)

    async def place_sip_call(
        self,
        webhook_url: str | None,
        secret: str | None = None,
        *,
        sip_headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> str:
        """Simulate an incoming SIP call and return its call id.

        The call is registered as ``incoming`` and, if ``webhook_url`` is
        given, a ``realtime.call.incoming`` webhook signed with ``secret``
        (Standard Webhooks, as OpenAI signs them) is POSTed to it; the
        status the endpoint answered is kept in ``calls[id].webhook_status``.
        The call is registered before the webhook is sent, so a handler that
        accepts it at once finds it.

        Args:
            webhook_url: Where to deliver the webhook (``http://`` only), or
                None to skip it.
            secret: The webhook secret (``whsec_...``); required with a URL.
            sip_headers: The INVITE's headers; plausible defaults otherwise.

        Returns:
            The ``rtc_...`` call id.

        Raises:
            OSError: The webhook endpoint could not be reached.
            ValueError: A URL was given without a secret, or is not
                ``http://``.
        """
        if webhook_url is not None and secret is None:
            raise ValueError("a webhook secret is required to sign the webhook")
        if isinstance(sip_headers, Mapping):
            headers = tuple(sip_headers.items())
        elif sip_headers is not None:
            headers = tuple(sip_headers)
        else:
            headers = default_sip_headers(self._ids)
        call = self.calls.add(
            SimCall(id=self._ids.hex("rtc_"), kind="sip", sip_headers=headers)
        )
        if webhook_url is not None:
            assert secret is not None
            signed, body = incoming_call_webhook(
                call, secret, self._ids, now=int(time.time())
            )
            response = await http_request(
                "POST", webhook_url, headers=signed, body=body
            )
            call.webhook_status = response.status
        return call.id

    async def send_dtmf(self, call_id: str, key: str) -> None:
        """Simulate a key press on a call: its sideband connections get the event.

        Raises:
            ValueError: ``key`` is not ``0``-``9``, ``*``, ``#`` or ``A``-``D``.
            KeyError: There is no such call.
        """
        if key not in _DTMF_KEYS:
            raise ValueError(f"not a DTMF key: {key!r}")
        if call_id not in self.calls:
            raise KeyError(call_id)
        for served in self._sidebands(call_id):
            await served.inject(served.session.dtmf(key, int(time.time())))

    async def send_caller_audio(self, call_id: str, pcm: bytes) -> None:
        """Simulate the caller speaking on a call: ``pcm`` (PCM16, 24 kHz, mono) reaches the model.

        As the call's media would, not through the sideband: the session of
        each sideband of the call takes it in its input audio buffer, in the
        session's input format, and handles it as appended audio. With
        server VAD that makes ``input_audio_buffer.speech_started`` and
        ``speech_stopped``, the commit, the transcription if the session
        asks for one (of what `hear` queued), and a response; talking over
        the assistant cancels its response, and the server cuts the call's
        audio where the caller stopped hearing it: ``output_audio_buffer.cleared``
        and ``conversation.item.truncated`` (see `caller_heard`).

        Send it in pieces at the pace it is spoken (20 ms every 20 ms, say);
        this does not pace it. While no sideband is attached, the audio is lost.

        Raises:
            KeyError: There is no such call.
        """
        if call_id not in self.calls:
            raise KeyError(call_id)
        for served in self._sidebands(call_id):
            await served.inject(served.session.caller_audio(pcm, trio.current_time()))

    def caller_heard(
        self, call_id: str, response_id: str
    ) -> tuple[float, float] | None:
        """What the caller of a call heard of a response's audio, in seconds.

        The call plays the assistant's audio to the caller in real time from
        the response's first audio delta; a barge-in or
        ``output_audio_buffer.clear`` cuts it. Returns ``(heard, audible)``:
        what was heard so far, and what will have been heard once the audio
        sent so far has played (where it was cut, if it was). None when no
        sideband session of the call sent audio of that response.

        Raises:
            KeyError: There is no such call.
        """
        if call_id not in self.calls:
            raise KeyError(call_id)
        now = trio.current_time()
        for served in self._sidebands(call_id):
            session = served.session
            if isinstance(session, SimSession):
                heard = session.caller_heard(response_id, now)
                if heard is not None:
                    return heard[0] / 1000, heard[1] / 1000
        return None

    async def hang_up(self, call_id: str) -> None:
        """Simulate the caller hanging up: the call ends, its sidebands close (1000).

        Raises:
            KeyError: There is no such call.
        """
        call = self.calls[call_id]
        call.move("ended")
        await self._end_call(call_id, "call ended")
