"""The trio shell of a connection: the WebSocket client, the transport, the connection engine and its tasks, open/connect."""
