"""Tiny random Llama-style models and tokenizers, built inside the tests (nothing is downloaded)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import torch

# The tiny models are far faster on one thread than fighting for the machine's cores.
torch.set_num_threads(1)


def corpus() -> list[str]:
    """Korean text from the repository: contract examples, child-friendly pairs, the prompts, JSON."""
    from naviyam.llm import prompts

    res = resources.files("naviyam.resources")
    texts = [prompts.NLU_INSTRUCTION, prompts.CHILD_INSTRUCTION, prompts.ANSWER_INSTRUCTION,
             "### 지시:\n### 입력:\n### 응답:\n"]
    for line in (res / "nlu" / "nlu_examples.jsonl").read_text(encoding="utf-8").splitlines()[:200]:
        if line.strip():
            case = json.loads(line)
            texts += case["turns"]
            texts += [json.dumps(e, ensure_ascii=False) for e in case.get("expect", [])]
    for line in (res / "nlg" / "child_friendly_pairs.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            texts += [d["original"], d["child_friendly"]]
    return texts


def build_tokenizer(vocab_size: int = 800):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")


def build_model(tokenizer, hidden: int = 32, layers: int = 2, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                      intermediate_size=hidden * 2, vocab_size=len(tokenizer), max_position_embeddings=1024,
                      pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """A saved random tiny Llama with its tokenizer."""
    path = tmp_path_factory.mktemp("tiny-llama")
    build_model(tiny_tokenizer).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


#: The one NLU example the "JSON model" memorises.
JSON_TEXT = "급식카드 되는 치킨집 추천해줘"
JSON_OUTPUT = {"intent": "FOOD_RECOMMENDATION", "filters": {"category": "치킨", "payment_method": "meal_card"},
               "semantic_query": "급식카드 치킨"}


@pytest.fixture(scope="session")
def json_example() -> tuple[str, dict]:
    """(message, output) that ``json_model_dir`` has memorised."""
    return JSON_TEXT, JSON_OUTPUT


@pytest.fixture(scope="session")
def json_model_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """A tiny model fully fine-tuned on one NLU example until greedy decoding reproduces it."""
    from naviyam.learning.lora_data import nlu_row
    from naviyam.llm.lora import collate, encode_row

    row = nlu_row(JSON_TEXT, JSON_OUTPUT["intent"], JSON_OUTPUT["filters"], JSON_OUTPUT["semantic_query"])
    model = build_model(tiny_tokenizer, hidden=64, seed=1)
    batch = collate([encode_row(tiny_tokenizer, row, "plain", 512)], tiny_tokenizer.pad_token_id)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(300):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if float(loss.detach()) < 0.01:
            break
    model.eval()
    path = tmp_path_factory.mktemp("json-llama")
    model.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def rules_parser():
    from naviyam.nlu import rules_parser as make

    return make()
