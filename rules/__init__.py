"""Shipped rule sets (TOML data files); see the README's rule file format."""
