"""End-to-end tests that drive the real web application in Debian's chromium."""
