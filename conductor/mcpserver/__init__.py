"""`conductor mcp`: Conductor as an MCP server (docs/mcp.md). Only this package imports the SDK."""
