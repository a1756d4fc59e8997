"""Deadlines: the Swedish working-day calendar and the frister a routine gives a case.

Pure arithmetic on dates, below the case register: no I/O."""
