"""The synthesis model: any OpenAI-compatible `POST {base_url}/chat/completions` over aiohttp.

A hosted model or a local Ollama/vLLM (`base_url = "http://127.0.0.1:11434/v1"`) works the
same. The API key comes from the environment only and travels in the `Authorization` header;
no answer text or key is ever logged here (the caller logs only why a synthesis was dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from bot.news.service import SummaryError

SessionGetter = Callable[[], aiohttp.ClientSession]


class ChatCompletions:
    """`Summarizer` over the chat-completions API."""

    def __init__(
        self,
        base_url: str,
        model: str,
        session: SessionGetter,
        *,
        api_key: str = "",
        max_tokens: int = 300,
        temperature: float = 0.0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._session = session
        self._api_key = api_key
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def complete(self, messages: Sequence[Mapping[str, str]], timeout: float) -> str:
        """The first choice's message text (SummaryError for anything else)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with self._session().post(
                self.url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as answer:
                if answer.status != 200:
                    raise SummaryError(f"HTTP {answer.status}")
                data = await answer.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise SummaryError(f"unreachable ({type(exc).__name__})") from None
        except ValueError:
            raise SummaryError("the answer is not JSON") from None
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise SummaryError("the answer has no choices[0].message.content") from None
        if not isinstance(text, str):
            raise SummaryError("the answer's content is not text")
        return text
