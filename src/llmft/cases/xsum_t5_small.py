"""Case 1: t5-small summarises XSum news articles in one sentence (chapter 3.1)."""

from llmft.cases.spec import Case, LoraSpec, Published, Sizes, Synthetic, register

register(
    Case(
        key="xsum-t5-small",
        number=1,
        title="News to one sentence: t5-small on XSum",
        model_id="t5-small",
        architecture="t5",
        task="seq2seq",
        dataset_id="EdinburghNLP/xsum",
        # The hub repo ships a loading script that datasets>=4 no longer runs;
        # its parquet conversion branch loads without it.
        dataset_revision="refs/convert/parquet",
        splits={"train": "train", "validation": "validation", "test": "test"},
        input_fields=("document",),
        target_field="summary",
        prompt="summarize: {document}",
        metric="rouge",
        lora=LoraSpec(r=16, alpha=32, dropout=0.05, target_modules=("q", "v")),
        arch=dict(d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_decoder_layers=6, num_heads=8,
                  vocab_size=32128, feed_forward_proj="relu", tie_word_embeddings=True,
                  pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
        notes="Inputs up to 1024 tokens, as in the source project.",
        # no 3-gram twice in a summary, as BART's XSum settings (fairseq's examples/bart/summarize.py)
        decoding={"no_repeat_ngram_size": 3},
        real_tokenizer="t5",
        extra_evaluations=2,  # the input-limit curve evaluates LoRA at two more lengths
        real_parameters=60_506_624,
        chapter_ready=True,
    ),
    sizes={
        "smoke": Sizes(
            train_examples=2000, eval_examples=100, max_steps=250, epochs=1, batch_size=8, grad_accum=1,
            learning_rate=5e-3, max_source_len=512, max_target_len=48, max_new_tokens=48, logging_steps=10,
            qlora_max_steps=125,
        ),
        # t5-small trains in fp16 on a T4 (training.training_precision); 512 input tokens, as t5-small was
        # pre-trained (the source project padded to 1024: the chapter measures what that costs).
        "t4": Sizes(
            train_examples=20000, eval_examples=500, max_steps=None, epochs=1, batch_size=16, grad_accum=1,
            learning_rate=1e-3, max_source_len=512, max_target_len=64, max_new_tokens=64, logging_steps=50,
            eval_batch_size=32,
        ),
        "full": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=1, batch_size=32, grad_accum=1,
            learning_rate=1e-3, max_source_len=1024, max_target_len=64, max_new_tokens=64, logging_steps=100,
            eval_batch_size=64,
        ),
    },
    standin="llmft.models.standins.t5:t5_small_standin",
    synthetic=Synthetic("llmft.data.synthetic.xsum:make_splits", {"train": 2000, "validation": 100, "test": 100}),
    published=(
        Published("xsum-t5-small", "t5-small", "ROUGE-L (x100)", 14.0, 22.9, "full fine-tuning, 1 epoch, inputs to 512 tokens",
                  "t5smallxsumcards", "Muennighoff/t5-small-finetuned-xsum-512 card"),
        Published("xsum-t5-small", "t5-small", "ROUGE-L (x100)", None, 22.2, "full fine-tuning, 1 epoch, inputs to 1024 tokens",
                  "t5smallxsumcards", "Trainer-generated t5-small-finetuned-xsum cards"),
    ),
)
