"""The conversation layer (issue 12): a sans-IO mirror of the conversation, tools, playback, and the trio pump that drives them. Sits on `_client`; never imports the simulator."""
