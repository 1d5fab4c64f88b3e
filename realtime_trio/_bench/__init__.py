"""``realtime-trio bench``: turn latency, measured by the library's own `TurnMetrics`.

A layer above the conversation layer (and the scripted conversations),
below the command line. Its modules:

* ``config.py``: `BenchConfig`, what one bench run does (sans-IO);
* ``turns.py``: the turns to play: the built-in one, or a script file's (sans-IO);
* ``simulator.py``: the built-in simulator, in a child process on loopback (trio);
* ``driver.py``: one conversation playing its turns (trio);
* ``runner.py``: K conversations at once, R times over, with the CPU they cost (trio);
* ``report.py``: the tables (ms), the JSON document, the spread between runs (sans-IO);
* ``plot.py``: the PNG (matplotlib, the ``plot`` extra);
* ``progress.py``: the progress line on a terminal.
"""
