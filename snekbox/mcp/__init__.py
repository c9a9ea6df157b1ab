"""`snekbox mcp`: any snekbox deployment as MCP tools for agents (see server.py)."""
