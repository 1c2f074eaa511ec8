"""Local stand-ins for the model APIs the real agent CLIs speak, for the agent-profile tests.

Each fake follows its provider's documented wire protocol (the real CLI is the client) and
answers only what the request allows: it edits files through a tool the request declares,
with arguments that fit that tool's own schema, or (aider) in the edit format the request's
system prompt asks for. What to change comes from a `Script`: the first unused `Turn` whose
`match` strings all occur in the request's text. A request that continues a turn (its last
message carries tool results) gets the turn's closing words, and nothing is consumed.

`base.AgentModelServer` is the HTTP plumbing (JSON and server-sent events); each provider
module subclasses it: `openai_chat` (aider), `anthropic` (Claude Code), `openai_responses`
(Codex CLI), `gemini` (Gemini CLI).
"""
