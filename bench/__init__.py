"""`make bench`: what gtchain's users pay for (time, memory, cold start, package size), each measured
next to a baseline taken in the same run. `python -m bench.run` prints the table and writes results.json."""
