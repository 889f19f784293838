"""``safecity demo``: the demo province's moving parts on top of the real platform.

``clips`` renders the simulated cameras' clips, ``cameras`` serves, records and
analyses them (``analytics`` says what is analysed), ``hotlist`` lists a few of their
vehicles, ``activity`` drives simulated alerts and field units. Everything goes
through the same services, workers and bus as a real deployment.
"""
