"""The case register: models, migrations, diarienummer, the audit log,
retention (gallring); and the owners of the state machines (``inbound``,
``lifecycle``)."""
