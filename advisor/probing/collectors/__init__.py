"""Collectors: each observes one aspect of the setup and returns catalogue facts (plus series and
details for the report). They read the user's objects and train only copies."""
