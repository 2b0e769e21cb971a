#!/usr/bin/env python3
# Renders the conversations in fixtures/chat_conversations.json, and a few more that only the V3.1 format
# treats apart, with DeepSeek-V3.1's own chat template through Jinja2 (Debian: python3-jinja2), in both of
# its modes (thinking false, the template's default, and true) with and without the generation prompt,
# writing fixtures/chat_expected_v31.json (committed; test_chat.cpp compares against it). Run once after
# changing the conversations:  python3 tests/tokenizer/oracle/render_chat_v31.py
# fixtures/deepseek_v31_chat_template.jinja is the chat_template of DeepSeek-V3.1's tokenizer_config.json.
import json
import pathlib

import jinja2

fixtures = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
template = jinja2.Environment().from_string((fixtures / "deepseek_v31_chat_template.jinja").read_text())
conversations = json.loads((fixtures / "chat_conversations.json").read_text())
conversations += [
    # The template keeps what follows the first </think> of a reply (R1's keeps what follows the last).
    {"name": "two think closings", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "<think>a</think>b</think>c"},
        {"role": "user", "content": "again"}]},
    # A reply right after tool outputs is kept whole, </think> and all.
    {"name": "reply after tool keeps think", "messages": [
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": "<think>need a tool</think>calling"},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "<think>got it</think>It is 42."},
        {"role": "user", "content": "thanks"}]},
    # Two assistant messages in a row: only the first opens an assistant turn.
    {"name": "assistant twice", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "one"},
        {"role": "assistant", "content": "two"}]},
]
out = []
for conv in conversations:
    for thinking in (False, True):
        for gen in (False, True):
            text = template.render(messages=conv["messages"], add_generation_prompt=gen, thinking=thinking,
                                   bos_token="<｜begin▁of▁sentence｜>", eos_token="<｜end▁of▁sentence｜>")
            out.append({"name": conv["name"], "messages": conv["messages"], "thinking": thinking,
                        "add_generation_prompt": gen, "expected": text})
(fixtures / "chat_expected_v31.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
print(f"wrote {len(out)} renderings")
