"""Paper trading: the engine against the built-in simulated exchange, in virtual time."""
