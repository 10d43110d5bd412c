#!/usr/bin/env python3
"""Reference prompt strings for lib/text/template.c, made by T2I-R1's own code.

Needs a checkout of github.com/CaraJ7/T2I-R1 (nothing of it is committed here):
    T2I_R1=/path/to/T2I-R1 python3 tests/golden/make_templates.py
It imports that repo's janus package (VLChatProcessor.apply_sft_template_for_
multi_turn_prompts, conversation template "deepseek") and reads its
data/prompt/reasoning_prompt.txt, then builds the two strings exactly as
open_r1/grpo.py and trainer/grpo_trainer.py do:
  stage 1: [{"role": "User", "content": reasoning_prompt.format(prompt)},
            {"role": "Assistant", "content": ""}] with T2I-R1's system prompt
  stage 2: [{"role": "User", "content": f"{prompt}. {cot}"}, {"role": "Assistant", ...}]
           with system_prompt=""
and the official Janus-Pro format ("<|User|>" roles, no system prompt) for
--template janus. Writes tests/golden/templates/cases.json.
"""
import json, os, sys, types

repo = os.environ.get("T2I_R1")
if not repo:
    sys.exit("set T2I_R1 to a checkout of CaraJ7/T2I-R1")
# Importing the janus package pulls in torchvision (its image processor), which
# the text templates do not need: load conversation.py on its own and take
# apply_sft_template_for_multi_turn_prompts out of processing_vlm.py's source
# (parsed with ast at run time, from the checkout), then run it unchanged.
import ast, importlib.util  # noqa: E402
src_dir = os.path.join(repo, "src", "t2i-r1", "src", "janus")
spec = importlib.util.spec_from_file_location("conversation", os.path.join(src_dir, "utils", "conversation.py"))
conversation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conversation)
tree = ast.parse(open(os.path.join(src_dir, "models", "processing_vlm.py")).read())
method = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
              and n.name == "apply_sft_template_for_multi_turn_prompts")
namespace = {"get_conv_template": conversation.get_conv_template, "List": list, "Dict": dict}
exec(compile(ast.Module(body=[method], type_ignores=[]), "processing_vlm.py", "exec"), namespace)
apply = namespace["apply_sft_template_for_multi_turn_prompts"]
reasoning = open(os.path.join(repo, "data", "prompt", "reasoning_prompt.txt")).read()
system = "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt."

def sft(user_role, content, system_prompt):
    conv = [{"role": user_role, "content": content}, {"role": user_role.replace("User", "Assistant"), "content": ""}]
    return apply(None, conversations=conv, sft_format="deepseek", system_prompt=system_prompt)

here = os.path.dirname(os.path.abspath(__file__))
prompts = [json.loads(l)["prompt"] for l in open(os.path.join(here, "streams", "t2i-r1-prompts-head.jsonl"))][:20]
prompts += ["  padded prompt with spaces\t\n", "caf\u00e9 \u2603 \u3000ideographic space\u3000", 'quote " and {braces}']
cots = ["A red apple sits on a wooden table.", "  leading and trailing spaces  ", "line one\nline two", ""]
cases = []
for i, p in enumerate(prompts):
    cot = cots[i % len(cots)]
    cases.append({
        "prompt": p, "cot": cot,
        "t2i-r1": {"plan": sft("User", reasoning.format(p), system), "image": sft("User", f"{p}. {cot}", "")},
        "janus": {"plan": sft("<|User|>", reasoning.format(p), ""), "image": sft("<|User|>", f"{p}. {cot}", ""),
                  "image_no_cot": sft("<|User|>", p, "")},
    })
os.makedirs(os.path.join(here, "templates"), exist_ok=True)
json.dump({"cases": cases}, open(os.path.join(here, "templates", "cases.json"), "w", encoding="utf-8"),
          ensure_ascii=False, indent=1)
print(len(cases), "cases")
