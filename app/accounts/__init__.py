"""Officers' accounts: the command line for creating and importing them."""
