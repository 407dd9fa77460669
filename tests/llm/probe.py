#!/usr/bin/env python3
"""Measures a running serve.py server over plain HTTP, the way the project's client talks to it.

    probe.py chat  http://127.0.0.1:P/v1 [--runs 3] [--pid SERVER_PID]
    probe.py embed http://127.0.0.1:P/v1 [--runs 3] [--pid SERVER_PID]

chat: sends a review-style prompt (system + user) with temperature 0, first free-form and then
with an OpenAI `response_format` json_schema (verdict enum + reason, strict), with the prompt
cache off so every run processes the whole prompt. Reports the server's own timings (prompt
and generation tokens/s, medians over the runs), whether each schema answer parses and fits
the schema, what a reply cut by max_tokens looks like, and one raw response body.

embed: posts {"model", "input": ["a", "b"]} and prints the raw body's shape, then times a
batch of 32 sentences.

Only the standard library is used, so any python 3 runs it.
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.request

SCHEMA = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["positive", "negative"]},
        "reason": {"type": "string"},
    },
    "required": ["verdict", "reason"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "x", "schema": SCHEMA, "strict": True},
}
SYSTEM = (
    "You review one exchange between a user and an assistant. Decide whether the user "
    "ended up satisfied (positive) or not (negative), and give a one-sentence reason. "
    'Answer with JSON only: {"verdict": "positive"|"negative", "reason": "..."}.'
)
USER = (
    "User: I asked you to rename the variable in the parser module, not the whole file. "
    "You renamed every function too and now nothing compiles.\n"
    "Assistant: Sorry about that. I have restored the original names and renamed only "
    "`buf` to `input` in parse_line, as you asked. The build passes again.\n"
    "User: Right, that is what I wanted. Thanks, that works now."
)


def cpu_seconds(pid):
    """utime + stime of a process, from /proc (Linux), or None without a pid."""
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, cpu0, wall0):
    """How much of a core the server got since (cpu0, wall0): on a busy machine the
    tokens/s figures are lower by about this factor than on an idle one."""
    if cpu0 is None:
        return ""
    return f", server cpu {(cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0):.2f} cores"


def post(url, body):
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=600) as resp:
        raw = resp.read()
    return json.loads(raw), raw.decode(), time.monotonic() - t0


def fits_schema(content):
    try:
        obj = json.loads(content)
    except ValueError:
        return False
    return (
        isinstance(obj, dict)
        and set(obj) == {"verdict", "reason"}
        and obj["verdict"] in ("positive", "negative")
        and isinstance(obj["reason"], str)
    )


def chat(base, runs, pid):
    url = base + "/chat/completions"
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    sample = None
    for label, extra in (("free", {}), ("json_schema", {"response_format": RESPONSE_FORMAT})):
        pp, tg, wall, ok = [], [], [], 0
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        for _ in range(runs):
            body = {"messages": messages, "max_tokens": 96, "temperature": 0}
            body["cache_prompt"] = False  # llama.cpp extension: no reuse between runs
            body.update(extra)
            d, raw, dt = post(url, body)
            t = d["timings"]
            pp.append(t["prompt_per_second"])
            tg.append(t["predicted_per_second"])
            wall.append(dt)
            content = d["choices"][0]["message"]["content"]
            ok += fits_schema(content)
            if extra:
                sample = raw
        print(
            f"{label}: prompt {t['prompt_n']} tok at {statistics.median(pp):.1f} tok/s, "
            f"generated {t['predicted_n']} tok at {statistics.median(tg):.1f} tok/s, "
            f"wall {statistics.median(wall):.2f} s, finish {d['choices'][0]['finish_reason']}, "
            f"fits schema {ok}/{runs}{cpu_share(pid, cpu0, wall0)}"
        )
        print(f"  content: {content!r}")
    # A schema answer cut short by max_tokens is not valid JSON: callers must check finish_reason.
    d, _, _ = post(
        url,
        {"messages": messages, "max_tokens": 6, "temperature": 0,
         "response_format": RESPONSE_FORMAT},
    )
    c = d["choices"][0]
    print(f"cut at max_tokens=6: finish {c['finish_reason']}, content {c['message']['content']!r}, "
          f"fits schema {fits_schema(c['message']['content'])}")
    print("json_schema response body:")
    print(sample)


def embed(base, runs, pid):
    url = base + "/embeddings"
    d, raw, dt = post(url, {"model": "multilingual-e5-small", "input": ["a", "b"]})
    vec = d["data"][0]["embedding"]
    norm = sum(x * x for x in vec) ** 0.5
    print(f"2 inputs: {len(d['data'])} vectors of dim {len(vec)}, |v|={norm:.4f}, "
          f"usage {d['usage']}, {dt * 1000:.0f} ms")
    trimmed = json.loads(raw)
    for item in trimmed["data"]:
        item["embedding"] = item["embedding"][:4] + ["..."]
    print("response body (vectors trimmed to 4 values):")
    print(json.dumps(trimmed))
    texts = [
        f"Sentence {i}: the user asked for a smaller change and the assistant rewrote the "
        f"whole module instead, which broke the build." for i in range(32)
    ]
    walls, tokens = [], 0
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    for _ in range(runs):
        d, _, dt = post(url, {"model": "multilingual-e5-small", "input": texts})
        walls.append(dt)
        tokens = d["usage"]["prompt_tokens"]
    w = statistics.median(walls)
    print(f"batch of 32 sentences ({tokens} tokens): {w:.2f} s, {32 / w:.1f} texts/s, "
          f"{tokens / w:.0f} tok/s{cpu_share(pid, cpu0, wall0)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["chat", "embed"])
    ap.add_argument("base", help="the URL serve.py printed, ending in /v1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pid", type=int, help="server pid: also report the CPU it got")
    a = ap.parse_args()
    (chat if a.kind == "chat" else embed)(a.base.rstrip("/"), a.runs, a.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
