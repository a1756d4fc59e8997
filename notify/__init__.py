"""Rendering receipts, notices and digests from the kommun's templates; the
outbox; delivery by SMTP and SMS (``attempt`` owns an outbox row's status)."""
