"""Case 3: GPT-2 learns to follow Alpaca's instructions (chapter 3.3)."""

from llmft.cases.spec import Case, LoraSpec, Published, Sizes, Synthetic, register

register(
    Case(
        key="alpaca-gpt2",
        number=3,
        title="Following instructions: GPT-2 on Alpaca",
        model_id="openai-community/gpt2",
        architecture="gpt2",
        task="causal",
        dataset_id="tatsu-lab/alpaca",
        splits={"train": "train", "validation": "", "test": ""},  # only a train split is published
        input_fields=("instruction", "input"),
        target_field="output",
        # Alpaca's two templates, as in its `text` field (stanford_alpaca's train.py)
        prompt=("Below is an instruction that describes a task, paired with an input that provides further context. "
                "Write a response that appropriately completes the request.\n\n"
                "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"),
        prompt_no_input=("Below is an instruction that describes a task. Write a response that appropriately "
                         "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"),
        metric="rouge",
        lora=LoraSpec(r=16, alpha=32, dropout=0.05, target_modules=("c_attn",), fan_in_fan_out=True),
        arch=dict(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257),
        notes="Served as a JSON API: GET /health, POST /generate.",
        real_tokenizer="gpt2",
        real_parameters=124_439_808,
        chapter_ready=True,
    ),
    sizes={
        "smoke": Sizes(
            train_examples=2000, eval_examples=100, max_steps=400, epochs=1, batch_size=16, grad_accum=1,
            learning_rate=3e-3, max_source_len=192, max_target_len=64, max_new_tokens=64, logging_steps=10,
            group_by_length=False,  # batches mix task kinds (grouped by length, each batch is one kind)
            qlora_max_steps=200,
        ),
        # GPT-2 trains in fp16 on a T4. Prompt up to 512 tokens, answer up to 256 (+ EOS): 768 of GPT-2's 1,024
        # positions; the reference model cards trained one epoch at lr 5e-4.
        "t4": Sizes(
            # batch 8 x 2 accumulation (the same 16 a step): the T4 plan (llmft.report.plan) puts batch 16 of
            # 768-token rows, logits over 50,257 words and no activation checkpointing above the card's 15 GB
            train_examples=20000, eval_examples=500, max_steps=None, epochs=1, batch_size=8, grad_accum=2,
            learning_rate=5e-4, max_source_len=512, max_target_len=256, max_new_tokens=256, logging_steps=50,
            eval_batch_size=32, group_by_length=False,
        ),
        "full": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=16, grad_accum=1,
            learning_rate=5e-4, max_source_len=512, max_target_len=512, max_new_tokens=512, logging_steps=100,
            eval_batch_size=32, group_by_length=False,
        ),
    },
    standin="llmft.models.standins.gpt2:gpt2_standin",
    # Alpaca publishes train only: validation and test are carved from it
    synthetic=Synthetic("llmft.data.synthetic.alpaca:make_splits", {"train": 4000}),
    published=(
        Published("alpaca-gpt2", "openai-community/gpt2", "eval loss (lower is better)", None, 1.698,
                  "LoRA, 1 epoch, lr 5e-4, batch 4 (QLoRA: 1.833)", "gpt2alpacacards", "no published ROUGE"),
    ),
)
