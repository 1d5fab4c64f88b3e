"""The simulator's server half: the listener, HTTP and the WebSocket handshake, REST, credentials and one task per connection."""
