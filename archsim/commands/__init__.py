"""One module per CLI subcommand (see `archsim.cli`)."""
