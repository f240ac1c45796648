"""`lendflow chaos`: break the stack on purpose while loan journeys run, and prove nothing was lost.

- :mod:`lendflow.chaos.stack`: a stack of the suite's own (PostgreSQL, Redis, Kafka, Temporal, and the
  processes under the supervisor) on free ports, every part held by its pid;
- :mod:`lendflow.chaos.journey`: the demo's journey as a patient client;
- :mod:`lendflow.chaos.scenarios`: the faults;
- :mod:`lendflow.chaos.invariants`: what must hold afterwards;
- :mod:`lendflow.chaos.runner`: runs scenarios and prints the table (also from Python).
"""
