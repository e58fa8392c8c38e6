"""One module per `advisor` sub-command."""
