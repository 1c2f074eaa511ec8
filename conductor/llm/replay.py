"""The replay provider: answers from a plan's recordings, with no network and no key.

Recorded answers are looked up by scope ("plan", "<fork>/<step>/<attempt>") and position
within it; only answers that were accepted as valid JSON of the schema — or rejected — are
served, in the order they were given, so a re-run meets exactly the answers the first run
met. A request that differs from the recorded one is answered all the same (the workspace
path in it differs between runs) and noted as drift.
"""

from __future__ import annotations

from typing import Any

from conductor.llm.provider import LLMError, LLMRequest, LLMResponse


class ReplayProvider:
    name = "replay"
    dialect = "gemini"  # not sent anywhere

    def __init__(
        self, recordings: dict[str, list[dict[str, Any]]], *, source: str, model: str = "replay"
    ) -> None:
        self._recordings = recordings
        self._served: dict[str, int] = {}
        self.source = source
        self.model = model
        self.drift: list[str] = []

    def settings(self) -> dict[str, Any]:
        return {"provider": self.name, "source": self.source}

    def complete(self, request: LLMRequest) -> LLMResponse:
        answers = [r for r in self._recordings.get(request.scope, []) if r.get("response")]
        index = self._served.get(request.scope, 0)
        if index >= len(answers):
            raise LLMError(
                f"plan {self.source} recorded no answer #{index + 1} for {request.scope}",
                hint="replay can only re-run what the recorded run asked",
            )
        self._served[request.scope] = index + 1
        recorded = answers[index]
        if recorded.get("request_digest") != request.digest():
            self.drift.append(request.scope)
        return LLMResponse.from_json(recorded["response"])
