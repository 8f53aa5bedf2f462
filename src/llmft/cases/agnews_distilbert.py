"""Case 5: DistilBERT classifies AG News stories into four topics (chapter 3.5)."""

from llmft.cases.spec import Case, LoraSpec, Published, Sizes, Synthetic, register

register(
    Case(
        key="agnews-distilbert",
        number=5,
        title="Topic classification: DistilBERT on AG News",
        model_id="distilbert-base-uncased",
        architecture="distilbert",
        task="classification",
        dataset_id="fancyzhx/ag_news",
        splits={"train": "train", "validation": "", "test": "test"},
        input_fields=("text",),
        target_field="label",
        prompt="{text}",
        metric="accuracy",
        lora=LoraSpec(r=8, alpha=16, dropout=0.1, target_modules=("q_lin", "v_lin"),
                      modules_to_save=("pre_classifier", "classifier")),
        arch=dict(dim=768, hidden_dim=3072, n_layers=6, n_heads=12, vocab_size=30522, max_position_embeddings=512),
        labels=("World", "Sports", "Business", "Sci/Tech"),
        real_tokenizer="bert",
        split_sizes={"train": 120_000, "test": 7_600},  # AG News as Zhang et al. (2015) published it
        real_parameters=66_956_548,
        chapter_ready=True,
    ),
    sizes={
        "smoke": Sizes(
            train_examples=2000, eval_examples=400, max_steps=100, epochs=1, batch_size=16, grad_accum=1,
            learning_rate=2e-3, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=10,
            eval_batch_size=64, qlora_max_steps=50,
        ),
        "t4": Sizes(
            train_examples=30000, eval_examples=None, max_steps=None, epochs=1, batch_size=32, grad_accum=1,
            learning_rate=5e-4, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=50,
            eval_batch_size=128,
        ),
        "full": Sizes(
            train_examples=None, eval_examples=None, max_steps=None, epochs=2, batch_size=32, grad_accum=1,
            learning_rate=5e-4, max_source_len=128, max_target_len=0, max_new_tokens=0, logging_steps=100,
            eval_batch_size=128,
        ),
    },
    standin="llmft.models.standins.minilm:minilm_distilbert",
    # AG News publishes no validation split: it is carved from train
    synthetic=Synthetic("llmft.data.synthetic.agnews:make_splits", {"train": 2100, "test": 400}),
    published=(
        Published("agnews-distilbert", "distilbert-base-uncased", "accuracy (%)", None, 94.4,
                  "full fine-tuning, 2 epochs (94.4 to 94.7)", "agnewscards"),
        Published("agnews-distilbert", "DistilBERT-family encoders", "accuracy (%)", None, 93.3,
                  "LoRA, 4 epochs (93.3 to 94.4)", "agnewscards"),
    ),
)
