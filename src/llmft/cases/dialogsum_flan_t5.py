"""Case 2: Flan-T5-base summarises DialogSum dialogues (chapter 3.2)."""

from llmft.cases.spec import Case, LoraSpec, Published, Sizes, Synthetic, register

register(
    Case(
        key="dialogsum-flan-t5",
        number=2,
        title="Dialogue summaries: Flan-T5-base on DialogSum",
        model_id="google/flan-t5-base",
        architecture="t5",
        task="seq2seq",
        dataset_id="knkarthick/dialogsum",
        splits={"train": "train", "validation": "validation", "test": "test"},
        input_fields=("dialogue",),
        target_field="summary",
        prompt="Summarize the following conversation:\n\n{dialogue}\n\nSummary:",
        metric="rouge",
        lora=LoraSpec(r=32, alpha=32, dropout=0.05, target_modules=("q", "v")),
        arch=dict(d_model=768, d_ff=2048, d_kv=64, num_layers=12, num_decoder_layers=12, num_heads=12,
                  vocab_size=32128, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                  pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
        real_tokenizer="t5",
        real_parameters=247_577_856,
        chapter_ready=True,
        fp16_ok=False,
    ),
    sizes={
        "smoke": Sizes(
            train_examples=2000, eval_examples=100, max_steps=240, epochs=1, batch_size=16, grad_accum=1,
            learning_rate=5e-3, max_source_len=320, max_target_len=48, max_new_tokens=48, logging_steps=10,
            qlora_max_steps=80,
        ),
        "t4": Sizes(
            train_examples=4000, eval_examples=200, max_steps=None, epochs=1, batch_size=8, grad_accum=1,
            learning_rate=1e-3, max_source_len=512, max_target_len=128, max_new_tokens=128, logging_steps=25,
            # Measured by `make gpu-check` (book/running.md): without activation checkpointing the fp32
            # LoRA run peaks at 7.9 GiB, well under a T4's 15 GB, and steps are 1.8x faster.
            eval_batch_size=16, gradient_checkpointing=False,
        ),
        "full": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=16, grad_accum=1,
            learning_rate=1e-3, max_source_len=512, max_target_len=128, max_new_tokens=128, logging_steps=50,
            eval_batch_size=32,
        ),
    },
    standin="llmft.models.standins.t5:t5_standin",
    synthetic=Synthetic("llmft.data.synthetic.dialogsum:make_splits", {"train": 2000, "validation": 100, "test": 100}),
    published=(
        Published("dialogsum-flan-t5", "google/flan-t5-base", "ROUGE-L (0-1)", 0.202, 0.325, "LoRA r=32 on q, v (as case 2)",
                  "dlai2023genai", "course lab; full fine-tuning 0.338"),
    ),
)
