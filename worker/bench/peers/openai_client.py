"""OpenAI's official Python client against the worker's API, unmodified: every call a client
makes of the API the worker serves, and the errors it maps to its exceptions.

    python openai_client.py http://127.0.0.1:8000 MODEL

Prints one JSON line of what was checked; exits non-zero (with the failing check) otherwise.
Run by `scripts/check-openai-client`, which starts a server on the real model.
"""

import json
import sys

import openai
from openai import OpenAI

QUESTION = "What is the capital of France?"


def main(base_url: str, model: str) -> dict:
    client = OpenAI(base_url=f"{base_url}/v1", api_key="not-checked", max_retries=0)
    figures = {"openai": openai.__version__}

    ids = [card.id for card in client.models.list().data]
    assert model in ids, f"{model} not in /v1/models: {ids}"
    figures["models"] = ids

    messages = [{"role": "user", "content": QUESTION}]
    chat = client.chat.completions.create(
        model=model, messages=messages, max_tokens=24, temperature=0, seed=7,
        logprobs=True, top_logprobs=2,
    )
    choice = chat.choices[0]
    text = choice.message.content
    assert text, "an empty answer"
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length"), choice.finish_reason
    assert chat.usage.completion_tokens == len(choice.logprobs.content), chat.usage
    assert all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
    figures["chat"] = {"text": text, "usage": chat.usage.model_dump()}

    # The same greedy answer streamed, with the usage chunk at the end.
    pieces, usage = [], None
    stream = client.chat.completions.create(
        model=model, messages=messages, max_tokens=24, temperature=0, seed=7,
        stream=True, stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert "".join(pieces) == text, ("streamed", "".join(pieces), text)
    assert usage is not None and usage.total_tokens == chat.usage.total_tokens, usage
    figures["stream_chunks"] = len(pieces)

    completion = client.completions.create(
        model=model, prompt="The capital of France is", max_tokens=8, temperature=0,
        logprobs=2, stop=["\n"],
    )
    choice = completion.choices[0]
    assert choice.text and "\n" not in choice.text, choice.text
    # Log-probabilities cover the text returned; usage also counts the stop string's tokens.
    assert "".join(choice.logprobs.tokens) == choice.text, choice.logprobs.tokens
    assert len(choice.logprobs.tokens) <= completion.usage.completion_tokens
    figures["completion"] = choice.text

    # Errors arrive as the client's own exceptions.
    expected = [
        (openai.NotFoundError, dict(model="no-such-model", messages=messages)),
        (openai.BadRequestError, dict(model=model, messages=messages, max_tokens=0)),
        (openai.BadRequestError, dict(model=model, messages=[])),
        (openai.BadRequestError, dict(model=model, messages=messages, n=2)),
    ]
    for error, arguments in expected:
        try:
            client.chat.completions.create(**arguments)
        except error as raised:
            assert raised.body and raised.body.get("code"), raised.body
        else:
            raise AssertionError(f"{arguments} was not refused with {error.__name__}")
    figures["errors"] = len(expected)
    return figures


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
