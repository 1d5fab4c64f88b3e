"""The simulator through our own client: input audio, commits, server VAD, transcription, G.711."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from realtime_trio import RealtimeConnection, ServerError, events
from realtime_trio.audio import (
    PCM16_24K,
    PCMU,
    AudioFormat,
    Resampler,
    decode_audio,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)
from realtime_trio.testing import (
    RealtimeSimulator,
    Scenario,
    silence,
    synthesize_speech,
    tone,
)
from tests.helpers.client_sim import (
    NO_VAD,
    TEXT_ONLY,
    appended_bytes,
    connect,
    level_dbfs,
    of_type,
    receive_until,
    user_text,
    vad_session,
    wire_types,
)

TURN_EVENTS = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
]


async def _retrieve_audio(conn: RealtimeConnection, item_id: str) -> bytes:
    await conn.send(events.ConversationItemRetrieve(item_id=item_id))
    received = await receive_until(conn, events.ConversationItemRetrieved)
    (part,) = received[-1].item.content
    assert isinstance(part, events.InputAudio)
    assert isinstance(part.audio, str)
    return decode_audio(part.audio)


def _to_8k(pcm24: bytes) -> bytes:
    resampler = Resampler(24_000, 8_000)
    return resampler.process(pcm24) + resampler.flush()


# --- manual commits ------------------------------------------------------------------


async def test_send_audio_then_commit_accounts_for_every_byte(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=NO_VAD, audio_frame_ms=100) as conn:
        pcm = tone(750)  # 36000 bytes: 7 whole 100 ms frames and a 50 ms rest
        await conn.send_audio(pcm)
        committed = await conn.commit_audio()
        assert isinstance(committed, events.InputAudioBufferCommitted)
        assert committed.previous_item_id is None
        received = await receive_until(conn, events.ConversationItemDone)
        assert wire_types(received)[-3:] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        item = received[-1].item
        assert item.id == committed.item_id
        assert (item.role, item.status) == ("user", "completed")
        assert item.content == (events.InputAudio(transcript=None),)
        # Framed as asked; the partial frame went out before the commit.
        assert appended_bytes(sim) == [4800] * 7 + [2400]
        assert await _retrieve_audio(conn, committed.item_id) == pcm
        stats = conn.statistics()
        assert stats.audio_bytes_buffered == 0
        assert stats.peak_audio_bytes_buffered == len(pcm)


async def test_commit_needs_100ms_and_clear_discards_the_buffer(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=NO_VAD, audio_frame_ms=100) as conn:
        await conn.send_audio(tone(50))
        with pytest.raises(ServerError) as info:
            await conn.commit_audio()
        error = info.value.event.error
        assert error.code == "input_audio_buffer_commit_empty"
        assert error.message == (
            "Error committing input audio buffer: buffer too small. Expected at least "
            "100ms of audio, but buffer only has 50.00ms of audio."
        )
        assert error.event_id == sim.connections[0].client_events[-1].event_id

        # 550 ms: 500 ms reach the server, the 50 ms partial frame stays local;
        # clear_audio drops both.
        await conn.send_audio(tone(550))
        await conn.clear_audio()
        received = await receive_until(conn, events.InputAudioBufferCleared)
        assert "input_audio_buffer.committed" not in wire_types(received)
        with pytest.raises(ServerError, match=r"buffer only has 0\.00ms"):
            await conn.commit_audio()

        fresh = tone(200, frequency=330)
        await conn.send_audio(fresh)
        committed = await conn.commit_audio()
        assert await _retrieve_audio(conn, committed.item_id) == fresh
    # 50 ms (flushed by the failed commit) + 500 + 200 ms were appended in all.
    assert sum(appended_bytes(sim)) == (50 + 500 + 200) * 48


# --- server VAD ------------------------------------------------------------------------


async def test_vad_turns_report_offsets_of_the_whole_session(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    session = vad_session(create_response=False)
    async with connect(sim, nursery, session=session, audio_frame_ms=20) as conn:
        # Speech at 1000-1800 ms and 2500-3000 ms of the session's audio.
        await conn.send_audio(
            silence(1000) + tone(800) + silence(700) + tone(500) + silence(500)
        )
        first = await receive_until(conn, events.ConversationItemDone)
        second = await receive_until(conn, events.ConversationItemDone)
        for turn in (first, second):
            assert wire_types(turn)[-5:] == TURN_EVENTS
        started = [
            of_type(t, events.InputAudioBufferSpeechStarted)[0] for t in (first, second)
        ]
        stopped = [
            of_type(t, events.InputAudioBufferSpeechStopped)[0] for t in (first, second)
        ]
        # Start = speech - 300 ms prefix padding (not before the buffer, which
        # starts at 2000 after the first commit); end = speech + 200 ms silence.
        assert [s.audio_start_ms for s in started] == [700, 2200]
        assert [s.audio_end_ms for s in stopped] == [2000, 3200]
        committed = [
            of_type(t, events.InputAudioBufferCommitted)[0] for t in (first, second)
        ]
        for start, stop, commit in zip(started, stopped, committed, strict=True):
            assert start.item_id == stop.item_id == commit.item_id
        assert committed[1].previous_item_id == committed[0].item_id
        # The committed items hold exactly [audio_start_ms, audio_end_ms).
        audio1 = await _retrieve_audio(conn, committed[0].item_id)
        audio2 = await _retrieve_audio(conn, committed[1].item_id)
        assert (len(audio1), len(audio2)) == (1300 * 48, 1000 * 48)
        assert audio1[300 * 48 : 1100 * 48] == tone(800)
        # create_response is off: the turns were not answered.
        assert not any(isinstance(e, events.ResponseCreated) for e in first + second)


async def test_vad_on_speech_streamed_in_real_time_answers_the_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(
        scenario=Scenario(transcripts=["What is the weather like?"])
    )
    # 25 characters of 60 ms: speech at 500-2000 ms of the stream; its last
    # voiced character ("e") ends at 1940 ms, before the "?" pause.
    pcm = silence(500) + synthesize_speech("What is the weather like?") + silence(700)
    async with connect(sim, nursery, session=vad_session(), audio_frame_ms=20) as conn:
        await receive_until(conn, events.SessionUpdated)
        start = trio.current_time()

        async def microphone() -> None:
            # Like a sound card: each 20 ms block is delivered once recorded.
            with conn.audio_sender() as mic:
                for offset in range(0, len(pcm), 960):
                    await trio.sleep(0.02)
                    await mic.send(pcm[offset : offset + 960])

        nursery.start_soon(microphone)
        received = []
        arrival: dict[str, float] = {}
        with trio.fail_after(10):
            async for event in conn:
                received.append(event)
                arrival.setdefault(wire_types([event])[0], trio.current_time() - start)
                if isinstance(event, events.ResponseDone):
                    break
        assert wire_types(received)[:6] == [*TURN_EVENTS, "response.created"]
        (started,) = of_type(received, events.InputAudioBufferSpeechStarted)
        (stopped,) = of_type(received, events.InputAudioBufferSpeechStopped)
        assert (started.audio_start_ms, stopped.audio_end_ms) == (200, 2140)
        # Each arrives when the 20 ms block that decides it has been streamed:
        # the block holding the 30th ms of speech (520-540 ms), and the one
        # ending the 200 ms of silence (2120-2140 ms).
        assert arrival["input_audio_buffer.speech_started"] == pytest.approx(0.54)
        assert arrival["input_audio_buffer.speech_stopped"] == pytest.approx(2.14)
        assert arrival["response.done"] == arrival["input_audio_buffer.speech_stopped"]
        (done,) = of_type(received, events.ResponseOutputTextDone)
        assert done.text == "You said: What is the weather like?"


async def test_vad_with_create_response_answers_each_turn(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=vad_session()) as conn:
        await receive_until(conn, events.SessionUpdated)
        await conn.send_audio(silence(300) + tone(1200) + silence(400))
        received = await receive_until(conn, events.ResponseDone)
        assert wire_types(received)[:6] == [*TURN_EVENTS, "response.created"]
        response = received[-1].response
        assert response.status == "completed"
        # No transcript was scripted: the model reports what it heard, 0-1700 ms
        # (the padded start is clipped at 0; the end includes 200 ms of silence).
        assert response.output[0].content[0].text == "I heard 1.7 seconds of audio."


@pytest.mark.parametrize(
    ("threshold", "dbfs", "detected"),
    [
        (0.5, -40.0, False),  # -40 dBFS is under the -35 dBFS of threshold 0.5
        (0.5, -30.0, True),
        (0.8, -25.0, False),  # threshold 0.8 needs -20 dBFS
        (0.8, -15.0, True),
        (0.0, -55.0, True),  # threshold 0.0 hears anything above -60 dBFS
    ],
)
async def test_vad_threshold_maps_to_a_level(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    threshold: float,
    dbfs: float,
    detected: bool,
) -> None:
    sim = RealtimeSimulator()
    session = vad_session(threshold=threshold, create_response=False)
    async with connect(sim, nursery, session=session) as conn:
        await conn.send_audio(silence(200) + tone(600, dbfs=dbfs) + silence(400))
        # The simulator handles messages in order: whatever the audio caused
        # arrives before the answer to the clear.
        await conn.clear_audio()
        received = await receive_until(conn, events.InputAudioBufferCleared)
        turn = [t for t in wire_types(received) if t.startswith("input_audio_buffer.")]
        if detected:
            assert turn == [*TURN_EVENTS[:3], "input_audio_buffer.cleared"]
        else:
            assert turn == ["input_audio_buffer.cleared"]


async def test_idle_timeout_triggers_after_the_answer_finished_playing(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    session = events.SessionConfig(
        audio=events.AudioConfig(
            input=events.AudioInput(
                turn_detection=events.ServerVad(idle_timeout_ms=2000)
            )
        )
    )
    async with connect(sim, nursery, session=session) as conn:
        await conn.create_item(user_text("Hi"))
        await conn.create_response()
        answer = await receive_until(conn, events.ResponseDone)
        done_at = trio.current_time()
        # "You said: Hi": 12 characters, 720 ms of audio, sent at once.
        assert answer[-1].response.output[0].content[0].transcript == "You said: Hi"
        await conn.send_audio(silence(1000))
        received = await receive_until(conn, events.InputAudioBufferTimeoutTriggered)
        # 2 s after the 720 ms of audio would have finished playing.
        assert trio.current_time() - done_at == pytest.approx(2.72)
        timeout = received[-1]
        assert (timeout.audio_start_ms, timeout.audio_end_ms) == (0, 1000)
        received = await receive_until(conn, events.ResponseDone)
        assert wire_types(received)[:4] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
            "response.created",
        ]
        assert received[0].item_id == timeout.item_id
        transcript = received[-1].response.output[0].content[0].transcript
        assert transcript == "I heard 1.0 seconds of audio."


async def test_input_transcription_events_carry_the_scenario_transcript(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(scenario=Scenario(transcripts=["Book a table for two."]))
    session = events.SessionConfig(
        output_modalities=("text",),
        include=("item.input_audio_transcription.logprobs",),
        audio=events.AudioConfig(
            input=events.AudioInput(
                turn_detection=None,
                transcription=events.AudioTranscription(model="gpt-4o-transcribe"),
            )
        ),
    )
    async with connect(sim, nursery, session=session) as conn:
        await conn.send_audio(tone(600))
        committed = await conn.commit_audio()
        received = await receive_until(
            conn, events.ConversationItemInputAudioTranscriptionCompleted
        )
        deltas = of_type(received, events.ConversationItemInputAudioTranscriptionDelta)
        assert [d.delta for d in deltas] == ["Book ", "a ", "table ", "for ", "two."]
        assert {d.item_id for d in deltas} == {committed.item_id}
        assert [d.logprobs[0].token for d in deltas] == [d.delta for d in deltas]
        completed = received[-1]
        assert (completed.item_id, completed.content_index) == (committed.item_id, 0)
        assert completed.transcript == "Book a table for two."
        assert isinstance(completed.usage, events.TranscriptTokenUsage)
        # 600 ms at 50 ms per audio token; 21 characters at 4 per text token.
        assert (completed.usage.input_tokens, completed.usage.output_tokens) == (12, 6)
        await conn.create_response()
        answer = await receive_until(conn, events.ResponseDone)
        (text,) = of_type(answer, events.ResponseOutputTextDone)
        assert text.text == "You said: Book a table for two."


# --- G.711 input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "wire"),
    [
        (PCM16_24K, "audio/pcmu"),  # the client encodes to µ-law at 8 kHz
        (PCMU, "audio/pcm"),  # the client decodes µ-law and resamples to 24 kHz
        (PCMU, "audio/pcmu"),  # passed through untouched
    ],
)
async def test_g711_input_paths(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    local: AudioFormat,
    wire: str,
) -> None:
    fmt = events.AudioPCMU() if wire == "audio/pcmu" else events.AudioPCM(rate=24000)
    session = events.SessionConfig(
        output_modalities=("text",),
        audio=events.AudioConfig(
            input=events.AudioInput(
                format=fmt, turn_detection=events.ServerVad(create_response=False)
            )
        ),
    )
    pcm24 = silence(400) + tone(600) + silence(400)
    ulaw = pcm16_to_ulaw(_to_8k(pcm24))
    source = pcm24 if local == PCM16_24K else ulaw
    sim = RealtimeSimulator()
    async with connect(
        sim, nursery, session=session, input_audio_format=local, audio_frame_ms=20
    ) as conn:
        assert sim.connections[0].session["audio"]["input"]["format"]["type"] == wire
        await conn.send_audio(source)
        received = await receive_until(conn, events.ConversationItemDone)
        assert wire_types(received)[-5:] == TURN_EVENTS
        (started,) = of_type(received, events.InputAudioBufferSpeechStarted)
        (stopped,) = of_type(received, events.InputAudioBufferSpeechStopped)
        # Speech at 400-1000 ms, whatever the conversions (within a 10 ms window).
        assert started.audio_start_ms == pytest.approx(100, abs=10)
        assert stopped.audio_end_ms == pytest.approx(1200, abs=10)
        item_id = received[-1].item.id
        await conn.send(events.ConversationItemRetrieve(item_id=item_id))
        stored = (await receive_until(conn, events.ConversationItemRetrieved))[-1]
        audio = decode_audio(stored.item.content[0].audio)
    bytes_per_ms = 8 if wire == "audio/pcmu" else 48
    # All of it was sent in the wire format (20 ms frames)...
    assert sum(appended_bytes(sim)) == pytest.approx(
        1400 * bytes_per_ms, abs=bytes_per_ms * 20
    )
    # ...and the committed item holds 1100 ms of it (start to end).
    assert len(audio) == pytest.approx(1100 * bytes_per_ms, abs=bytes_per_ms * 10)
    if local == PCMU and wire == "audio/pcmu":
        assert (
            b"".join(
                decode_audio(e.audio)
                for e in sim.connections[0].client_events
                if isinstance(e, events.InputAudioBufferAppend)
            )
            == ulaw[: sum(appended_bytes(sim))]
        )
    pcm = ulaw_to_pcm16(audio) if wire == "audio/pcmu" else audio
    # The tone survives the conversions at its level.
    middle = pcm[len(pcm) // 2 - 1000 : len(pcm) // 2 + 1000]
    assert level_dbfs(middle) == pytest.approx(-20, abs=1.5)


async def test_semantic_vad_waits_as_long_as_its_eagerness_says(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        stops = []
        for eagerness in ("high", "low"):
            semantic = events.SemanticVad(eagerness=eagerness, create_response=False)
            await conn.update_session(
                events.SessionConfig(
                    audio=events.AudioConfig(
                        input=events.AudioInput(turn_detection=semantic)
                    )
                )
            )
            await conn.send_audio(tone(500) + silence(1200))
            received = await receive_until(conn, events.InputAudioBufferSpeechStopped)
            stops.append(received[-1].audio_end_ms)
            await conn.clear_audio()
    # Speech at 0-500 and 1700-2200 ms: "high" waits 250 ms, "low" 1000 ms.
    assert stops == [500 + 250, 2200 + 1000]
