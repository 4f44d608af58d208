"""``python -m oversight.testing {openai,anthropic} [--port N] [--latency S] [--reply TEXT]``:
run a fake provider server in the foreground; it prints its base URL, then serves."""

from __future__ import annotations

import argparse

from oversight.testing._anthropic_fake import FakeAnthropicServer
from oversight.testing._openai_fake import FakeOpenAIServer
from oversight.testing._server import FakeServer


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m oversight.testing", description=__doc__)
    parser.add_argument("provider", choices=["openai", "anthropic"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--reply", default=None, help="fixed reply text (default: an echo)")
    args = parser.parse_args(argv)
    kind: type[FakeServer] = FakeOpenAIServer if args.provider == "openai" else FakeAnthropicServer
    kind(reply=args.reply, latency=args.latency, host=args.host, port=args.port).serve_forever()


if __name__ == "__main__":
    main()
