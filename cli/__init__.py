"""The ``tierscore`` command line: a thin typer shell over ``tierscore.scoring``.

A run allocates and frees gigabytes step after step. polars sets its allocator,
jemalloc, to hand freed pages back to the system within half a second (to keep
memory low; pola-rs/polars#18088), so each step faulted in fresh pages that the
step before had just given up (at 1M customers 1.5M page faults and 4-5 s of
system time). Keeping freed pages for 10 s lets the next step reuse them: on
this project's 2-core benchmark machine about 0.5-1 s less wall time at 1M
customers, for a higher peak (2.6 -> 3.7 GiB). 30 s, as first shipped, was no
faster at 1M, and at 10M kept what the measuring steps freed until the scores
were built: peaks of 10.7-12.3 GiB, against 8.9 GiB with 10 s (169 s against
173-174 s). polars appends ``_RJEM_MALLOC_CONF`` to its own setting when it loads,
so the command sets it before; only the command (the library leaves the process
of whoever imports it alone), and an operator's own value wins (an empty one
keeps polars' setting and the smaller peak).
"""

import os

MALLOC_CONF = "dirty_decay_ms:10000,muzzy_decay_ms:0"
os.environ.setdefault("_RJEM_MALLOC_CONF", MALLOC_CONF)
