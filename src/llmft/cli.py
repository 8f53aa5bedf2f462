"""``llmft``: the book's command line. ``llmft serve --case dialogsum-flan-t5 --adapter DIR`` serves a tuned model:
a summarization case as a web page and JSON (``POST /summarize``), an instruction-following case (``alpaca-gpt2``)
as a JSON API (``POST /generate``, docs at ``/docs``)."""

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
    args = parser.parse_args(argv)

    import uvicorn

    from llmft.cases import get_case
    from llmft.runtime import start
    from llmft.serve import create_app
    from llmft.serve import model as serve_model

    if get_case(args.case).task == "causal":
        return _serve_api(args)
    run = start(args.case, args.profile, quiet=True)
    Summarizer = serve_model.Summarizer
    summarizer = Summarizer(run, args.adapter)
    app = create_app(summarizer, model=summarizer.label, adapter=args.adapter, max_chars=args.max_chars,
                     title=f"Summarize with {run.case.title.split(':')[-1].strip()}")
    print(f"Serving {summarizer.label} on http://{args.host}:{args.port} (Ctrl+C stops)")
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning")
    return 0


def _serve_api(args) -> int:
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
    app = create_api(load, about=about)
    print(f"Serving {args.case} on http://{args.host}:{args.port} (API docs at /docs; Ctrl+C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
