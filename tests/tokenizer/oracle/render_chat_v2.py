#!/usr/bin/env python3
# Renders the conversations in fixtures/chat_conversations.json that the DeepSeek-V2 chat format can hold (no
# tool turns) with DeepSeek-V2's own chat template through Jinja2 (Debian: python3-jinja2), writing
# fixtures/chat_expected_v2.json (committed; test_chat.cpp compares against it). Run once after changing the
# conversations:  python3 tests/tokenizer/oracle/render_chat_v2.py
# fixtures/deepseek_v2_chat_template.jinja is the chat_template of DeepSeek-V2-Chat's and V2-Lite-Chat's
# tokenizer_config.json.
import json
import pathlib

import jinja2

fixtures = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
template = jinja2.Environment().from_string((fixtures / "deepseek_v2_chat_template.jinja").read_text())
out = []
for conv in json.loads((fixtures / "chat_conversations.json").read_text()):
    if any(m["role"] == "tool" for m in conv["messages"]):
        continue
    for gen in (False, True):
        text = template.render(messages=conv["messages"], add_generation_prompt=gen,
                               bos_token="<｜begin▁of▁sentence｜>", eos_token="<｜end▁of▁sentence｜>")
        out.append({"name": conv["name"], "add_generation_prompt": gen, "expected": text})
(fixtures / "chat_expected_v2.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
print(f"wrote {len(out)} renderings")
