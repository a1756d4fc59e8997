"""The application service: what happens to a message, a case and a deadline,
called by the processes (workers/), the web (review/) and the command line (cli/)."""
