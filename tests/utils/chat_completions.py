"""A fake OpenAI-compatible chat-completions server: a real HTTP server on a free port, in a
thread, answering what the test sets (a JSON summary, an HTTP error, garbage, or slowly), and
keeping every request it got."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/chat/completions"


@dataclass
class Answer:
    """What the next requests get: ``content`` as the message content (a dict is sent as its
    JSON text), with ``status``, after ``delay`` seconds."""

    content: Any = None
    status: int = 200
    delay: float = 0.0


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeChatCompletions:
    answer: Answer = field(default_factory=Answer)
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def start(self) -> FakeChatCompletions:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(Request(dict(self.headers), body))
                answer = fake.answer
                time.sleep(answer.delay)
                self._reply(answer)

            def _reply(self, answer: Answer) -> None:
                content = answer.content
                text = content if isinstance(content, str) else json.dumps(content)
                payload = {"choices": [{"message": {"role": "assistant", "content": text}}]}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
