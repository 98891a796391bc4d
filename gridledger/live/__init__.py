"""Live trading through a real ccxt.pro exchange object."""
