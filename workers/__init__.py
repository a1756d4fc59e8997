"""Processes: the embedded single-process run, and later dramatiq workers,
the IMAP listener and the scheduler."""
