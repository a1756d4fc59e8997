"""The processes: the IMAP listener and the SMS poller, the dramatiq workers
(actors, broker), the scheduler, and the embedded single-process run; all
loops under one runner (``workers.runner``), each beating its heartbeat."""
