# The two commands of the README. Everything else is detail.
.PHONY: demo test setup setup-test check clean

demo: setup
	.venv/bin/safecity demo

test: setup-test
	bash scripts/check.sh

setup:
	bash scripts/setup.sh base

setup-test:
	bash scripts/setup.sh test

check: setup-test
	bash scripts/check.sh --no-tests

clean:
	rm -rf .venv node_modules src/safecity/web/static/vendor
