"""The web viewer (``archive serve``): offline inspection of the store and replay of its WARCs.

Three layers, as in pywb: ``queries`` finds rows in the store, ``records`` loads what the
WARC files hold for a capture, ``app`` presents both through the templates. Replay is
pywb itself, run by ``replay_server`` on a second origin over an index kept by ``replay``.
"""
