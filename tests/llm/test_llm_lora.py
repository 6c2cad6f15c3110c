"""LoRA trainer on a tiny random Llama built in the test: loss goes down, adapters round-trip, incremental runs."""

from __future__ import annotations

import json

import torch

from naviyam.learning.lora_data import child_friendly_rows, nlu_row  # noqa: E402
from naviyam.llm.backend import ADAPTER_META, LLMBackend, adapter_base_model  # noqa: E402
from naviyam.llm.lora import (  # noqa: E402
    LoraTrainConfig,
    LoraTrainer,
    collate,
    encode_row,
    load_for_training,
    train_lora,
)


def _rows():
    rows = [nlu_row("만원으로 치킨 먹을 수 있어?", "BUDGET_FOOD_INQUIRY", {"budget_filter": 10000, "category": "치킨"},
                    "10000원 이하 치킨"),
            nlu_row("안녕", "GREETING", {}, "안녕"),
            nlu_row("급식카드 되는 떡볶이집", "FOOD_RECOMMENDATION", {"menu": "떡볶이", "payment_method": "meal_card"},
                    "급식카드 떡볶이")]
    return rows + child_friendly_rows()[:3]


def test_prompt_is_masked_and_the_answer_ends_with_eos(tiny_tokenizer):
    enc = encode_row(tiny_tokenizer, _rows()[0], "plain", 512)
    labels = enc["labels"]
    n_prompt = sum(1 for x in labels if x == -100)
    assert 0 < n_prompt < len(labels)
    assert labels[-1] == tiny_tokenizer.eos_token_id
    answer = tiny_tokenizer.decode(enc["input_ids"][n_prompt:], skip_special_tokens=True)
    assert json.loads(answer)["intent"] == "BUDGET_FOOD_INQUIRY"


def test_two_lora_steps_on_a_repeated_batch_decrease_the_loss(tiny_model_dir, tiny_tokenizer):
    cfg = LoraTrainConfig(dropout=0.0, lr=5e-3, device="cpu", seed=0)
    torch.manual_seed(0)
    model, tok, device, _, parent = load_for_training(tiny_model_dir, cfg)
    assert parent is None
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert any("q_proj" in n for n in trainable) and any("o_proj" in n for n in trainable)
    assert model.peft_config["default"].r == 16 and model.peft_config["default"].lora_alpha == 32
    trainer = LoraTrainer(model, tok, cfg, device)
    batch = collate(trainer.encode(_rows()[:4]), trainer.pad_id)
    first = trainer.step(batch)
    second = trainer.step(batch)
    third = trainer.step(batch)
    assert second < first and third < second


def test_saved_adapter_reloads_with_identical_logits(tiny_model_dir, tmp_path):
    from naviyam.llm.lora import save_adapter

    cfg = LoraTrainConfig(dropout=0.0, lr=1e-2, device="cpu", seed=0)
    model, tok, device, base, _ = load_for_training(tiny_model_dir, cfg)
    trainer = LoraTrainer(model, tok, cfg, device)
    batch = collate(trainer.encode(_rows()), trainer.pad_id)
    for _ in range(3):
        trainer.step(batch)
    save_adapter(model, tok, tmp_path / "adapter", {"base_model": str(base), "prompt_style": "plain"})
    model.eval()
    ids = batch["input_ids"][:2]
    mask = batch["attention_mask"][:2]
    with torch.no_grad():
        trained = model(input_ids=ids, attention_mask=mask).logits
        with model.disable_adapter():
            plain = model(input_ids=ids, attention_mask=mask).logits
    reloaded = LLMBackend.load(tiny_model_dir, tmp_path / "adapter", device="cpu")
    with torch.no_grad():
        again = reloaded.model(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(trained, again, atol=1e-5)
    assert not torch.allclose(trained, plain, atol=1e-4)  # the adapter does change the model
    assert adapter_base_model(tmp_path / "adapter") == str(base)


def test_train_lora_writes_checkpoints_perplexity_and_continues_incrementally(tiny_model_dir, tmp_path):
    rows = _rows() * 2
    cfg = LoraTrainConfig(epochs=2, batch_size=4, lr=1e-3, device="cpu", val_fraction=0.25, max_length=400)
    first = train_lora(tiny_model_dir, rows, tmp_path / "v1", cfg, version="lora-v1")
    assert (tmp_path / "v1" / "adapter_model.safetensors").exists()
    assert (tmp_path / "v1" / "checkpoint-epoch-1" / "adapter_config.json").exists()
    assert (tmp_path / "v1" / "checkpoint-epoch-2" / "adapter_config.json").exists()
    m = first.metrics
    assert m["n_val"] >= 2 and m["best_epoch"] in (1, 2)
    assert [e["epoch"] for e in m["epochs"]] == [1, 2]
    assert all(e["val_perplexity"] > 1.0 for e in m["epochs"])
    assert set(m["val_perplexity"]["per_task"]) == {"nlu", "child_friendly"}
    meta = json.loads((tmp_path / "v1" / ADAPTER_META).read_text(encoding="utf-8"))
    assert meta["prompt_style"] == "plain" and meta["config"]["r"] == 16 and not meta["incremental"]

    # seed 47.B.3: the previous adapter as --base-model, new rows only, one epoch.
    new_rows = [nlu_row("피자는?", "FOOD_RECOMMENDATION", {"category": "피자"}, "피자 식당")] * 4
    inc = train_lora(tmp_path / "v1", new_rows,
                     tmp_path / "v2", LoraTrainConfig(epochs=1, lr=5e-5, device="cpu", val_fraction=0.0))
    assert inc.incremental and inc.parent == "lora-v1"
    meta2 = json.loads((tmp_path / "v2" / ADAPTER_META).read_text(encoding="utf-8"))
    assert meta2["base_model"] == meta["base_model"] and meta2["parent"] == "lora-v1"
