"""Pure numpy/OpenCV primitives for the data plane (DESIGN.md, "Package layout").

Nothing here opens a network connection, a bus subject or a database: every
function takes arrays and plain values and returns immutable results, so a
worker can call it on its own frames and publish what it learned elsewhere.
"""
