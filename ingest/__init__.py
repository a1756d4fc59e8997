"""Sources of raw input, parsing into a Message, screening and threading."""
