"""The jail policy (snekbox.cfg) and the settings defaults (snekbox.toml), installed with
the package as snekbox.config so that an installed snekbox finds them."""
