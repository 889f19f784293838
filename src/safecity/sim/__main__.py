"""``python -m safecity.sim``: the ``safecity sim`` commands without the rest of the CLI
(the demo renders its first clips this way, in child processes it can stop)."""

from safecity.sim.cli import sim_app

if __name__ == "__main__":  # importing the module (the import-boundary tests do) runs nothing
    sim_app(prog_name="python -m safecity.sim")
