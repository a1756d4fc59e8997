"""The real servers the tests talk to over loopback, one module per server.

``process`` (free ports, process groups, the ``ServerProcess`` base class),
``dovecot`` (IMAP/IMAPS, its config in ``dovecot_config``), ``smtp`` (the SMTP
sink; ``smtp_sink`` is the sink process itself), ``redis_server``, ``postgres``,
``spamd``, ``tcp_proxy`` (a proxy that can go silent) and ``sms`` (the 46elks
and Twilio gateway emulators). No pytest in here: the fixtures live in the tests.
"""
