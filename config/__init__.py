"""Settings from the environment and the kommun's configuration directory."""
