"""The case register: models, migrations, diarienummer, audit log."""
