"""The simulator's model half: the session, conversation, responses, VAD, the synthetic voice, scenarios and recordings."""
