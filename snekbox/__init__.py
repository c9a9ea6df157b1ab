"""snekbox: run untrusted Python code under NsJail and return what it printed."""
