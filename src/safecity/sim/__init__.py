"""Synthetic city: rendered street scenes with ground truth, simulated cameras and site gateways.

The rendered city (a corridor of cameras at known distances, signalised
junctions, vehicles with Pakistani number plates, pedestrians, day to night),
all from one seed:

- ``safecity.sim.render.render_city(seed, duration, out_dir, ...)`` writes
  ``<camera id>.mp4`` per camera and ``ground_truth.json``;
  ``simulate_truth`` gives the same ground truth without drawing;
- ``safecity.sim.truth``: the ground-truth models and ``load_ground_truth``;
- ``safecity.sim.counter.read_counter``: the frame number burned into a frame;
- ``safecity.sim.cli.sim_app``: the ``safecity sim`` command.

The package itself imports nothing, so importing one simulator (the solar
gateways, say) does not load the others; OpenCV and PyAV load only when a
render runs.
"""
