"""The fault and bad-input campaign (`make faults`): real servers, real faults, one table.

See `faults/run.py` for what it runs; README's Guarantees section cites its figures.
"""
