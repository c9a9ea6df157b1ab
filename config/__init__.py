"""The jail policy (snekbox.cfg) and the settings defaults (snekbox.toml): the package
snekbox.config (snekbox/config links here), so that an installed snekbox finds them."""
