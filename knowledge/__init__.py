"""The built-in knowledge base: YAML data only, shipped beside the `advisor` package."""
