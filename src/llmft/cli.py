"""``llmft``: the book's command line. ``llmft serve --case dialogsum-flan-t5 --adapter DIR`` serves a tuned model:
a summarization case as a web page and JSON (``POST /summarize``), an instruction-following case (``alpaca-gpt2``)
as a JSON API (``POST /generate``; docs at ``/docs`` with ``--docs``). Both bind 127.0.0.1 unless told otherwise,
behind :mod:`llmft.serve.guard`; ``LLMFT_API_KEY`` makes every route but ``/health`` require that key."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmft", description="The LoRA Casebook's command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a tuned model: a web page and a JSON API, or an instruction API")
    serve.add_argument("--case", required=True, help="the case key, e.g. dialogsum-flan-t5")
    serve.add_argument("--adapter", help="folder of a saved adapter (the chapter saves results/<case>/adapter-lora)")
    serve.add_argument("--profile", help="smoke, t4 or full (default: as the notebooks choose)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-chars", type=int, default=20_000, help="longest text accepted (characters)")
    serve.add_argument("--precision", default="fp32", choices=["fp32", "int8", "nf4"],
                       help="instruction cases: load the base in fp32, 8-bit or 4-bit NF4 (bitsandbytes)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests whose Host header is NAME (a name this machine is reached by; "
                            "by default only the bound address, and its loopback names, are answered)")
    serve.add_argument("--docs", action="store_true",
                       help="serve the API docs at /docs, /redoc and /openapi.json (Swagger UI loads from a CDN)")
    args = parser.parse_args(argv)
    return _serve(args)


def _serve(args) -> int:
    """Load the case's model once and serve it behind the guard (llmft.serve.guard) with uvicorn."""
    import os
    import sys

    import uvicorn

    from llmft.serve import guard

    api_key = os.environ.get("LLMFT_API_KEY") or None  # never printed
    warning = guard.exposure_warning(args.host, api_key is not None)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    options = guard.uvicorn_options(args.host, args.port)
    security = dict(docs=args.docs, hosts=guard.allowed_hosts(args.host, tuple(args.allow_host)), api_key=api_key)
    from llmft.cases import get_case
    from llmft.runtime import start
    from llmft.serve import create_app
    from llmft.serve import model as serve_model

    if get_case(args.case).task == "causal":
        return _serve_api(args, options, security)
    run = start(args.case, args.profile, quiet=True)
    Summarizer = serve_model.Summarizer
    summarizer = Summarizer(run, args.adapter)
    app = create_app(summarizer, model=summarizer.label, adapter=args.adapter, max_chars=args.max_chars,
                     title=f"Summarize with {run.case.title.split(':')[-1].strip()}", **security)
    print(f"Serving {summarizer.label} on http://{args.host}:{args.port} (Ctrl+C stops)", flush=True)
    uvicorn.run(app, **options)
    return 0


def _serve_api(args, options: dict, security: dict) -> int:
    """An instruction-following case: the JSON API, its model loaded once when the server starts."""
    import uvicorn

    from llmft.runtime import start
    from llmft.serve import model as serve_model
    from llmft.serve.api import create_api

    run = start(args.case, args.profile, quiet=True)

    def load():
        engine = serve_model.InstructionFollower(run, args.adapter, args.precision)
        about["model"] = engine.label
        print(f"Loaded {about['model']} ({args.precision}) on {run.device}", flush=True)
        return engine

    about = {"model": run.case.model_id, "adapter": args.adapter, "device": run.device, "precision": args.precision,
             "profile": run.profile.name}
    app = create_api(load, about=about, **security)
    docs = "API docs at /docs" if args.docs else "API docs: start with --docs"
    print(f"Serving {args.case} on http://{args.host}:{args.port} ({docs}; Ctrl+C stops)", flush=True)
    uvicorn.run(app, **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
