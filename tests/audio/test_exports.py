"""The public surface of realtime_trio.audio, and the sans-IO rule for its modules."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import realtime_trio.audio as audio

PACKAGE = Path(audio.__file__).parent
AUDIO_MODULES = [
    "audio.py",
    "_audio/formats.py",
    "_audio/pipeline.py",
    "_audio/b64.py",
    "_audio/g711.py",
    "_audio/resample.py",
    "_audio/wav.py",
]

REQUIRED = {
    "AudioChunker",
    "AudioFormat",
    "AudioFormatError",
    "InputAudioPipeline",
    "OutputAudioDecoder",
    "PCM16_24K",
    "PCMA",
    "PCMU",
    "Resampler",
    "WavAudio",
    "WavWriter",
    "alaw_to_pcm16",
    "bytes_for_duration",
    "decode_audio",
    "duration_ms",
    "encode_audio",
    "frame_bytes",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "read_wav",
    "ulaw_to_pcm16",
    "write_wav",
}


def test_all_is_sorted_complete_and_importable() -> None:
    assert audio.__all__ == sorted(audio.__all__)
    assert set(audio.__all__) >= REQUIRED
    public = {
        name
        for name, obj in vars(audio).items()
        if not name.startswith("_") and not inspect.ismodule(obj)
    }
    assert public - {"annotations"} == set(audio.__all__)
    for name in audio.__all__:
        assert getattr(audio, name) is not None


def test_public_objects_belong_to_the_public_module() -> None:
    for name in audio.__all__:
        obj = getattr(audio, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "realtime_trio.audio", name


def test_public_callables_are_documented() -> None:
    for name in audio.__all__:
        obj = getattr(audio, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name
    assert audio.__doc__


def test_audio_modules_import_no_trio() -> None:
    for filename in AUDIO_MODULES:
        tree = ast.parse((PACKAGE / filename).read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
        roots = {name.split(".")[0] for name in imported}
        assert not roots & {"trio", "trio_websocket", "audioop"}, filename
        assert roots <= {
            "__future__",
            "attrs",
            "binascii",
            "collections",
            "functools",
            "math",
            "numpy",
            "os",
            "pybase64",
            "types",
            "typing",
            "wave",
        }, (filename, roots)
