"""``session.updated`` structured by hand, for ``bench_parse_ceiling.py``.

What perfectly generated structure code could do for the round trip's
answer: every field looked up once with `UNSET` as its default, the JSON kind
of each value present checked inline (as our hooks check it), nested records
and the tagged unions of this message dispatched inline, no hook call and no
loop but the one over an array of strings, unknown keys noticed by counting.
It is written for this one message (a shape it does not expect raises
`ValueError`), so it is, if anything, cheaper than general code could be.
"""

# ruff: noqa
# mypy: ignore-errors
# (Written as generated code would be: terse, one branch per field.)

from typing import Any

from realtime_trio._core import server_events as sev
from realtime_trio._core import session_models as sm
from realtime_trio._core.record import NO_EXTRA
from realtime_trio._core.sentinel import UNSET


def _unexpected():
    return ValueError("not the shape of the round trip's answer")


def _extra():
    raise ValueError("unknown keys (this code does not keep them)")


def pcm(v):
    seen = 0
    r = v.get("rate", UNSET)
    if r is not UNSET:
        seen += 1
        if type(r) is not int and r is not None:
            raise _unexpected()
    if v.get("type", UNSET) is not UNSET:
        seen += 1
    return sm.AudioPCM(rate=r, extra_fields=NO_EXTRA if seen == len(v) else _extra())


FMT = {"audio/pcm": pcm}


def vad(v):
    g = v.get
    seen = 0
    a = g("threshold", UNSET)
    if a is not UNSET:
        seen += 1
        if type(a) is not float and type(a) is not int and a is not None:
            raise _unexpected()
    b = g("prefix_padding_ms", UNSET)
    if b is not UNSET:
        seen += 1
        if type(b) is not int and b is not None:
            raise _unexpected()
    cc = g("silence_duration_ms", UNSET)
    if cc is not UNSET:
        seen += 1
        if type(cc) is not int and cc is not None:
            raise _unexpected()
    dd = g("create_response", UNSET)
    if dd is not UNSET:
        seen += 1
        if type(dd) is not bool and dd is not None:
            raise _unexpected()
    e = g("interrupt_response", UNSET)
    if e is not UNSET:
        seen += 1
        if type(e) is not bool and e is not None:
            raise _unexpected()
    f = g("idle_timeout_ms", UNSET)
    if f is not UNSET:
        seen += 1
        if type(f) is not int and f is not None:
            raise _unexpected()
    seen += 1
    return sm.ServerVad(
        threshold=a,
        prefix_padding_ms=b,
        silence_duration_ms=cc,
        create_response=dd,
        interrupt_response=e,
        idle_timeout_ms=f,
        extra_fields=NO_EXTRA if seen == len(v) else _extra(),
    )


TD = {"server_vad": vad}


def ainput(v):
    g = v.get
    seen = 0
    f = g("format", UNSET)
    if f is not UNSET:
        seen += 1
        if f is not None:
            f = FMT[f["type"]](f)
    nr = g("noise_reduction", UNSET)
    if nr is not UNSET:
        seen += 1
        if nr is not None:
            raise _unexpected()
    tr = g("transcription", UNSET)
    if tr is not UNSET:
        seen += 1
        if tr is not None:
            raise _unexpected()
    td = g("turn_detection", UNSET)
    if td is not UNSET:
        seen += 1
        if td is not None:
            td = TD[td["type"]](td)
    return sm.AudioInput(
        format=f,
        noise_reduction=nr,
        transcription=tr,
        turn_detection=td,
        extra_fields=NO_EXTRA if seen == len(v) else _extra(),
    )


def aoutput(v):
    g = v.get
    seen = 0
    f = g("format", UNSET)
    if f is not UNSET:
        seen += 1
        if f is not None:
            f = FMT[f["type"]](f)
    vo = g("voice", UNSET)
    if vo is not UNSET:
        seen += 1
        if type(vo) is not str:
            raise _unexpected()
    sp = g("speed", UNSET)
    if sp is not UNSET:
        seen += 1
        if type(sp) is not int and type(sp) is not float:
            raise _unexpected()
    return sm.AudioOutput(
        format=f,
        voice=vo,
        speed=sp,
        extra_fields=NO_EXTRA if seen == len(v) else _extra(),
    )


def audio(v):
    g = v.get
    seen = 0
    i = g("input", UNSET)
    if i is not UNSET:
        seen += 1
        if i is not None:
            i = ainput(i)
    o = g("output", UNSET)
    if o is not UNSET:
        seen += 1
        if o is not None:
            o = aoutput(o)
    return sm.AudioConfig(
        input=i, output=o, extra_fields=NO_EXTRA if seen == len(v) else _extra()
    )


def strs(x):
    for s in x:
        if type(s) is not str:
            raise _unexpected()
    return tuple(x)


def session(v):
    g = v.get
    seen = 0
    ob = g("object", UNSET)
    if ob is not UNSET:
        seen += 1
        if type(ob) is not str:
            raise _unexpected()
    i = g("id", UNSET)
    if i is not UNSET:
        seen += 1
        if type(i) is not str:
            raise _unexpected()
    ex = g("expires_at", UNSET)
    if ex is not UNSET:
        seen += 1
        if type(ex) is not int and ex is not None:
            raise _unexpected()
    mo = g("model", UNSET)
    if mo is not UNSET:
        seen += 1
        if type(mo) is not str and mo is not None:
            raise _unexpected()
    ins = g("instructions", UNSET)
    if ins is not UNSET:
        seen += 1
        if type(ins) is not str and ins is not None:
            raise _unexpected()
    om = g("output_modalities", UNSET)
    if om is not UNSET:
        seen += 1
        if om is not None:
            om = strs(om)
    au = g("audio", UNSET)
    if au is not UNSET:
        seen += 1
        if au is not None:
            au = audio(au)
    inc = g("include", UNSET)
    if inc is not UNSET:
        seen += 1
        if inc is not None:
            inc = strs(inc)
    to = g("tools", UNSET)
    if to is not UNSET:
        seen += 1
        if to is not None:
            if to:
                raise _unexpected()
            to = ()
    tc = g("tool_choice", UNSET)
    if tc is not UNSET:
        seen += 1
        if type(tc) is not str:
            raise _unexpected()
    ptc = g("parallel_tool_calls", UNSET)
    if ptc is not UNSET:
        seen += 1
    re = g("reasoning", UNSET)
    if re is not UNSET:
        seen += 1
    mot = g("max_output_tokens", UNSET)
    if mot is not UNSET:
        seen += 1
        if type(mot) is not str and type(mot) is not int:
            raise _unexpected()
    tru = g("truncation", UNSET)
    if tru is not UNSET:
        seen += 1
    tra = g("tracing", UNSET)
    if tra is not UNSET:
        seen += 1
        if tra is not None:
            raise _unexpected()
    pr = g("prompt", UNSET)
    if pr is not UNSET:
        seen += 1
        if pr is not None:
            raise _unexpected()
    if g("type", UNSET) is not UNSET:
        seen += 1
    return sm.SessionConfig(
        object=ob,
        id=i,
        expires_at=ex,
        model=mo,
        instructions=ins,
        output_modalities=om,
        audio=au,
        include=inc,
        tools=to,
        tool_choice=tc,
        parallel_tool_calls=ptc,
        reasoning=re,
        max_output_tokens=mot,
        truncation=tru,
        tracing=tra,
        prompt=pr,
        extra_fields=NO_EXTRA if seen == len(v) else _extra(),
    )


def structure_session_updated(v: dict[str, Any]) -> sev.SessionUpdated:
    """The record of the parsed round trip's answer ``v``."""
    e = v.get("event_id", UNSET)
    s = session(v["session"])
    return sev.SessionUpdated(
        event_id=e, session=s, extra_fields=NO_EXTRA if len(v) == 3 else _extra()
    )
