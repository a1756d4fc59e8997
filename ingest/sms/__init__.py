"""SMS as a source: gateway adapters (46elks, Twilio), phone numbers, the
stored form of one SMS and the joining of texts split by the sender."""
