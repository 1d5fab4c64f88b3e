"""Scripted test conversations (issue 13): the `talk` driver, script files and the pytest plugin's body. May use `_agent` and the simulator (`realtime_trio.testing`)."""
