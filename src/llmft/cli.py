"""``llmft``: the book's command line. ``llmft serve --case dialogsum-flan-t5 --adapter DIR`` serves a tuned model."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmft", description="The LoRA Casebook's command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a tuned model: a web page and a JSON API")
    serve.add_argument("--case", required=True, help="the case key, e.g. dialogsum-flan-t5")
    serve.add_argument("--adapter", help="folder of a saved adapter (the chapter saves results/<case>/adapter-lora)")
    serve.add_argument("--profile", help="smoke, t4 or full (default: as the notebooks choose)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-chars", type=int, default=20_000, help="longest text accepted (characters)")
    args = parser.parse_args(argv)

    import uvicorn

    from llmft.runtime import start
    from llmft.serve import create_app
    from llmft.serve.model import Summarizer

    run = start(args.case, args.profile, quiet=True)
    summarizer = Summarizer(run, args.adapter)
    app = create_app(summarizer, model=summarizer.label, adapter=args.adapter, max_chars=args.max_chars,
                     title=f"Summarize with {run.case.title.split(':')[-1].strip()}")
    print(f"Serving {summarizer.label} on http://{args.host}:{args.port} (Ctrl+C stops)")
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
