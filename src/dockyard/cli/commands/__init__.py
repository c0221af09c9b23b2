"""One module per command family; each handler is (cli, options, args) -> exit status."""
