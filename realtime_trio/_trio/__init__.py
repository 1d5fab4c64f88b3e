"""Small trio helpers shared by the I/O layers (the client, the simulator, the SIP server, the CLI): the one hidden-nursery policy."""
