"""The HTTP API and dashboard served inside the engine process (``[api] port``).

Loopback by default; any other address needs a token from the environment. Reads are JSON
with decimals as strings; control (pause, resume, reconcile, stop) always needs the token.
"""
