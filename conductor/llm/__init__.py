"""Models: providers (Gemini, OpenAI-compatible, replay), calls with retries, structured
answers, recording, the planner. google-genai and openai are imported only when a provider
of theirs is made."""
