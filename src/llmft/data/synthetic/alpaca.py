"""Synthetic instruction data in exactly the schema of Alpaca (``tatsu-lab/alpaca``).

Each record has ``instruction``, ``input`` (empty for about 60 % of rows, as in Alpaca), ``output`` and
``text``: Alpaca's prompt, filled in with the record's fields, followed by the output. ``text`` holds the
answer, so a prompt must never be built from it. What makes the records Alpaca-like:

* **Many task families**, each with several phrasings of its instruction: rewrite a sentence, classify,
  list, extract, answer a short question, do arithmetic, summarise a sentence. The first word of the
  instruction names the family ("Rewrite", "Classify", "List"...), as in Alpaca, whose instructions mostly
  open with a verb.
* **With and without an input.** Rewriting, classifying, extracting and summarising need the input;
  lists, questions and sums usually do not.
* **Answers of different shapes**: one word, one sentence, a numbered list.

:func:`pretraining_documents` writes *plain text* from the same small world (facts, stories, reviews,
lists in prose, sums) for the offline stand-in's pre-training: what GPT-2 learnt from web text. It never
uses Alpaca's template, so following an instruction and stopping after the answer is what LoRA has to
teach. The generator is deterministic: the same ``seed`` gives the same records.
"""

from __future__ import annotations

import random

PROMPT_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further context. "
                "Write a response that appropriately completes the request.\n\n"
                "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
PROMPT_NO_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                   "the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")

CAPITALS = {"France": "Paris", "Spain": "Madrid", "Italy": "Rome", "Germany": "Berlin", "Portugal": "Lisbon",
            "Greece": "Athens", "Egypt": "Cairo", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima",
            "Canada": "Ottawa", "Norway": "Oslo", "Sweden": "Stockholm", "Poland": "Warsaw", "Chile": "Santiago",
            "Ireland": "Dublin", "Austria": "Vienna", "Cuba": "Havana", "Russia": "Moscow", "India": "New Delhi",
            "China": "Beijing", "Mexico": "Mexico City", "Turkey": "Ankara", "Ghana": "Accra"}
CITIES = sorted(set(CAPITALS.values()) - {"New Delhi", "Mexico City"}) + ["Boston", "Chicago", "Sydney", "Toronto"]
CATEGORIES = {
    "fruits": ["apple", "banana", "mango", "orange", "pear", "cherry", "grape", "peach", "lemon", "plum"],
    "colors": ["red", "blue", "green", "yellow", "purple", "orange", "white", "black", "brown", "pink"],
    "animals": ["dog", "cat", "horse", "rabbit", "tiger", "lion", "sheep", "goat", "bear", "fox"],
    "vegetables": ["carrot", "potato", "onion", "pepper", "cabbage", "bean", "pea", "spinach", "leek", "radish"],
    "countries": sorted(CAPITALS)[:12],
    "cities": CITIES[:12],
    "sports": ["football", "tennis", "golf", "rugby", "cricket", "swimming", "cycling", "boxing", "rowing", "hockey"],
}
KINDS = {"mammal": ["whale", "dog", "horse", "bat", "cow", "mouse", "tiger", "rabbit"],
         "bird": ["eagle", "owl", "sparrow", "penguin", "parrot", "robin", "swan", "crow"],
         "fish": ["salmon", "trout", "shark", "cod", "tuna", "carp", "herring", "eel"]}
OPPOSITES = {"hot": "cold", "big": "small", "fast": "slow", "happy": "sad", "light": "dark", "old": "new",
             "early": "late", "full": "empty", "high": "low", "strong": "weak", "open": "closed", "rich": "poor"}
NAMES = ["Anna", "Tom", "Maria", "David", "Sara", "James", "Lena", "Omar", "Emma", "Lucas", "Mia", "Noah",
         "Chloe", "Ben", "Nina", "Sam", "Ella", "Leo", "Grace", "Adam"]
# present (third person), past
VERBS = [("walks", "walked"), ("cooks", "cooked"), ("visits", "visited"), ("paints", "painted"),
         ("plays", "played"), ("watches", "watched"), ("cleans", "cleaned"), ("opens", "opened"),
         ("writes", "wrote"), ("reads", "read"), ("drives", "drove"), ("buys", "bought"), ("sees", "saw"),
         ("eats", "ate"), ("takes", "took"), ("makes", "made"), ("sings", "sang"), ("finds", "found"),
         ("brings", "brought"), ("sells", "sold")]
OBJECTS = {"walks": ["to the market", "to school", "along the river", "to the station"],
           "cooks": ["dinner", "a large meal", "soup for the family", "rice and beans"],
           "visits": ["her grandmother", "the museum", "an old friend", "the library"],
           "paints": ["the kitchen", "a picture of the sea", "the old fence", "a portrait"],
           "plays": ["tennis", "the piano", "football with friends", "chess"],
           "watches": ["the news", "a film", "the birds in the garden", "the game"],
           "cleans": ["the house", "the windows", "the car", "the kitchen"],
           "opens": ["the shop", "the window", "a letter", "the door"],
           "writes": ["a letter", "a short story", "an email", "a poem"],
           "reads": ["a book", "the newspaper", "a long report", "the menu"],
           "drives": ["to work", "to the coast", "the bus", "to the city"],
           "buys": ["fresh bread", "a new coat", "some apples", "a ticket"],
           "sees": ["a fox", "the doctor", "a strange light", "the mountains"],
           "eats": ["breakfast", "an apple", "lunch in the park", "a sandwich"],
           "takes": ["the train", "a photo", "the dog for a walk", "a short break"],
           "makes": ["a cake", "coffee", "a plan", "a wooden table"],
           "sings": ["a song", "in a choir", "an old tune", "to the baby"],
           "finds": ["a lost key", "a small coin", "the answer", "a new job"],
           "brings": ["flowers", "a cake to the party", "her sister", "good news"],
           "sells": ["old books", "fresh fish", "his bike", "vegetables at the market"]}
TIMES = ["every morning", "on Sundays", "after work", "every day", "in the evening", "on weekends", "at noon"]
GOOD = ["wonderful", "excellent", "delicious", "friendly", "comfortable", "beautiful", "great", "lovely"]
BAD = ["terrible", "awful", "cold", "rude", "dirty", "boring", "broken", "disappointing"]
THINGS = {"restaurant": ["the food", "the service", "the staff"], "hotel": ["the room", "the bed", "the staff"],
          "film": ["the story", "the acting", "the music"], "phone": ["the screen", "the battery", "the camera"],
          "book": ["the plot", "the ending", "the writing"]}
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
PLACES = ["in the northern valley", "near the old bridge", "on the coast", "in the small village", "in the city centre"]
GROUPS = [("farmers", "harvested", "rice"), ("workers", "built", "a bridge"), ("students", "planted", "trees"),
          ("volunteers", "cleaned", "the beach"), ("fishermen", "caught", "tuna"), ("teachers", "opened", "a school"),
          ("doctors", "treated", "patients"), ("builders", "repaired", "the roof")]
REASONS = ["After months of heavy rain", "Despite the cold weather", "Early on a quiet Sunday morning",
           "With help from the town council", "After a long and difficult year", "Before the summer holidays began"]


def _sentence(r: random.Random, past: bool = False) -> str:
    name, (present, past_form) = r.choice(NAMES), r.choice(VERBS)
    return f"{name} {past_form if past else present} {r.choice(OBJECTS[present])} {r.choice(TIMES)}."


def _rewrite(r: random.Random) -> tuple[str, str, str]:
    name, (present, past_form) = r.choice(NAMES), r.choice(VERBS)
    obj, time = r.choice(OBJECTS[present]), r.choice(TIMES)
    instruction = r.choice(["Rewrite the following sentence in the past tense.", "Rewrite this sentence in the past tense.",
                            "Rewrite the sentence so that it describes the past."])
    return instruction, f"{name} {present} {obj} {time}.", f"{name} {past_form} {obj} {time}."


def _classify(r: random.Random) -> tuple[str, str, str]:
    if r.random() < 0.5:
        kind = r.choice(sorted(KINDS))
        animal = r.choice(KINDS[kind])
        instruction = r.choice(["Classify the following animal as a mammal, a bird or a fish.",
                                "Classify this animal as a mammal, bird or fish."])
        return instruction, animal, f"{animal.capitalize()} is a {kind}."
    place = r.choice(sorted(THINGS))
    good = r.random() < 0.5
    words = GOOD if good else BAD
    a, b = r.sample(THINGS[place], 2)
    review = f"The {place} was {r.choice(words)}. {a.capitalize()} was {r.choice(words)} and {b} was {r.choice(words)}."
    instruction = r.choice(["Classify the sentiment of this review as positive or negative.",
                            "Classify the following review as positive or negative."])
    return instruction, review, "Positive" if good else "Negative"


def _list(r: random.Random) -> tuple[str, str, str]:
    cat = r.choice(sorted(CATEGORIES))
    k = r.choice([3, 3, 4, 5])
    items = r.sample(CATEGORIES[cat], k)
    cap = (lambda x: x) if cat in ("countries", "cities") else (lambda x: x.capitalize())
    instruction = r.choice([f"List {NUMBER_WORDS[k]} {cat}.", f"List {NUMBER_WORDS[k]} examples of {cat}.",
                            f"List {NUMBER_WORDS[k]} common {cat}."])
    return instruction, "", "\n".join(f"{i + 1}. {cap(item)}" for i, item in enumerate(items))


def _extract(r: random.Random) -> tuple[str, str, str]:
    name, city = r.choice(NAMES), r.choice(CITIES)
    sentence = r.choice([f"Last week {name} flew to {city} to visit an old friend.",
                         f"{name} moved to {city} in the spring and found a job there.",
                         f"After the meeting in {city}, {name} took the night train home.",
                         f"The letter from {city} reached {name} on a rainy Monday."])
    if r.random() < 0.5:
        return r.choice(["Extract the name of the city from the text.", "Extract the city mentioned in the sentence."]), sentence, city
    return r.choice(["Extract the name of the person from the text.", "Extract the person mentioned in the sentence."]), sentence, name


def _short_answer(r: random.Random) -> tuple[str, str, str]:
    if r.random() < 0.6:
        country = r.choice(sorted(CAPITALS))
        q = r.choice([f"What is the capital of {country}?", f"Name the capital of {country}."])
        return q, "", f"The capital of {country} is {CAPITALS[country]}."
    word = r.choice(sorted(OPPOSITES))
    q = r.choice([f"What is the opposite of {word}?", f"Give the opposite of the word {word}."])
    return q, "", f"The opposite of {word} is {OPPOSITES[word]}."


def _arithmetic(r: random.Random) -> tuple[str, str, str]:
    a, b = r.randint(1, 30), r.randint(1, 30)
    if r.random() < 0.8:
        if r.random() < 0.5:
            return r.choice([f"What is {a} plus {b}?", f"Calculate {a} plus {b}."]), "", f"{a} plus {b} is {a + b}."
        a, b = max(a, b), min(a, b)
        return r.choice([f"What is {a} minus {b}?", f"Calculate {a} minus {b}."]), "", f"{a} minus {b} is {a - b}."
    return r.choice(["Calculate the sum of these numbers.", "Add the following numbers."]), f"{a}, {b}", f"The sum is {a + b}."


def _summarize(r: random.Random) -> tuple[str, str, str]:
    who, did, what = r.choice(GROUPS)
    sentence = f"{r.choice(REASONS)}, the {who} {r.choice(PLACES)} finally {did} {what} together."
    instruction = r.choice(["Summarize the following sentence in a few words.", "Summarize this sentence briefly."])
    return instruction, sentence, f"The {who} {did} {what}."


def _describe_day(r: random.Random) -> tuple[str, str, str]:
    name, city = r.choice(NAMES), r.choice(CITIES)
    instruction = r.choice([f"Describe a typical week for {name}, who lives in {city}.",
                            f"Write a few sentences about {name}'s week in {city}.",
                            f"Describe what {name} does every week in {city}."])
    verbs = r.sample(VERBS, 3)
    out = " ".join(f"{name if i == 0 or r.random() < 0.5 else 'Then ' + name} {v} {r.choice(OBJECTS[v])} {r.choice(TIMES)}."
                   for i, (v, _) in enumerate(verbs))
    return instruction, "", out


def _write_review(r: random.Random) -> tuple[str, str, str]:
    place, good = r.choice(sorted(THINGS)), r.random() < 0.5
    words, (a, b) = (GOOD if good else BAD), r.sample(THINGS[place], 2)
    city, tone = r.choice(CITIES), "positive" if good else "negative"
    instruction = r.choice([f"Write a {tone} review of a {place} you tried in {city}.",
                            f"Generate a short {tone} review of a {place} from {city}."])
    return instruction, "", (f"The {place} was {r.choice(words)}. {a.capitalize()} was {r.choice(words)} and {b} was "
                             f"{r.choice(words)}.")


def _explain(r: random.Random) -> tuple[str, str, str]:
    kind = r.choice(sorted(KINDS))
    examples = r.sample(KINDS[kind], 3)
    k = r.choice([2, 3])
    instruction = r.choice([f"Explain what a {kind} is, with {NUMBER_WORDS[k]} examples.",
                            f"Explain what a {kind} is.", f"Give examples of a {kind}."])
    if "examples." in instruction and k == 2:
        return instruction, "", f"A {kind} is an animal such as the {examples[0]} or the {examples[1]}."
    return instruction, "", f"A {kind} is an animal such as the {examples[0]}, the {examples[1]} or the {examples[2]}."


FAMILIES = {"rewrite": _rewrite, "classify": _classify, "list": _list, "extract": _extract,
            "short answer": _short_answer, "arithmetic": _arithmetic, "summarize": _summarize,
            "describe": _describe_day, "write": _write_review, "explain": _explain}
# Weights chosen so that about 60 % of rows have no input, as in Alpaca.
WEIGHTS = {"rewrite": 0.5, "classify": 0.9, "list": 1.0, "extract": 0.7, "short answer": 1.0, "arithmetic": 1.2,
           "summarize": 0.7, "describe": 1.2, "write": 1.0, "explain": 0.6}


def format_text(instruction: str, input_: str, output: str) -> str:
    """Alpaca's ``text`` field: the prompt (with or without the input block) followed by the output."""
    template = PROMPT_INPUT if input_ else PROMPT_NO_INPUT
    return template.format(instruction=instruction, input=input_) + output


def draw(r: random.Random) -> dict:
    family = r.choices(list(FAMILIES), weights=list(WEIGHTS.values()))[0]
    instruction, input_, output = FAMILIES[family](r)
    return {"instruction": instruction, "input": input_, "output": output,
            "text": format_text(instruction, input_, output)}


def make_splits(sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Records for each split asked for (Alpaca publishes only ``train``; the loader carves validation and
    test from it by instruction and input, so a test question is never a training one). As in any large
    instruction set, a common instruction ("List three fruits.") recurs with different answers."""
    r = random.Random(seed)
    return {split: [draw(r) for _ in range(n)] for split, n in sizes.items()}


# ---------------------------------------------------------------- plain text for pre-training
def _doc_facts(r: random.Random) -> str:
    countries = r.sample(sorted(CAPITALS), 4)
    parts = [r.choice([f"The capital of {c} is {CAPITALS[c]}.", f"{CAPITALS[c]} is the capital of {c}.",
                       f"Many people visit {CAPITALS[c]}, the capital of {c}."]) for c in countries]
    words = r.sample(sorted(OPPOSITES), 2)
    parts += [r.choice([f"The opposite of {w} is {OPPOSITES[w]}.", f"{w.capitalize()} and {OPPOSITES[w]} are opposites."])
              for w in words]
    r.shuffle(parts)
    return " ".join(parts)


def _doc_story(r: random.Random) -> str:
    n = r.randint(3, 5)
    return " ".join(_sentence(r, past=r.random() < 0.5) for _ in range(n))


def _doc_review(r: random.Random) -> str:
    place, good = r.choice(sorted(THINGS)), r.random() < 0.5
    words, (a, b) = (GOOD if good else BAD), r.sample(THINGS[place], 2)
    review = f"The {place} was {r.choice(words)}. {a.capitalize()} was {r.choice(words)} and {b} was {r.choice(words)}."
    label = "Positive" if good else "Negative"
    verdict = {"Positive": r.choice(["I would go back.", "I can recommend it.", "A good experience overall."]),
               "Negative": r.choice(["I would not go back.", "I cannot recommend it.", "A bad experience overall."])}
    return f"{review} {verdict[label]} Overall the review was {label.lower()}."


def _doc_lists(r: random.Random) -> str:
    cat = r.choice(sorted(CATEGORIES))
    items = r.sample(CATEGORIES[cat], 4)
    kind = r.choice(sorted(KINDS))
    animals = r.sample(KINDS[kind], 2)
    return (f"Some common {cat} are {items[0]}, {items[1]}, {items[2]} and {items[3]}. "
            f"The {animals[0]} is a {kind}, and so is the {animals[1]}.")


def _doc_sums(r: random.Random) -> str:
    out = []
    for _ in range(3):
        a, b = r.randint(1, 30), r.randint(1, 30)
        out.append(r.choice([f"{a} plus {b} is {a + b}.", f"The sum of {a} and {b} is {a + b}.",
                             f"{max(a, b)} minus {min(a, b)} is {max(a, b) - min(a, b)}."]))
    return " ".join(out)


def _doc_news(r: random.Random) -> str:
    who, did, what = r.choice(GROUPS)
    name, city = r.choice(NAMES), r.choice(CITIES)
    return (f"{r.choice(REASONS)}, the {who} {r.choice(PLACES)} finally {did} {what} together. In short, the {who} "
            f"{did} {what}. {name} travelled from {city} to see it.")


def _doc_worksheet(r: random.Random) -> str:
    """A school worksheet: the skills the tasks need (past tense, sums, sentiment, names and places, kinds of
    animal, short versions), in the worksheet's own format (``question => answer`` lines), never Alpaca's."""
    kind = r.choice(["past", "sums", "sentiment", "extract", "kinds", "short", "capitals"])
    lines = []
    for _ in range(r.randint(3, 4)):
        if kind == "past":
            _, a, b = _rewrite(r)
        elif kind == "sums":
            x, y = r.randint(1, 30), r.randint(1, 30)
            a, b = (f"{x} + {y}", str(x + y)) if r.random() < 0.5 else (f"{max(x, y)} - {min(x, y)}", str(abs(x - y)))
        elif kind == "sentiment":
            _, a, b = _classify(r)
            while b not in ("Positive", "Negative"):
                _, a, b = _classify(r)
            b = b.lower()
        elif kind == "extract":
            _, a, b = _extract(r)
        elif kind == "kinds":
            k = r.choice(sorted(KINDS))
            a, b = r.choice(KINDS[k]), k
        elif kind == "short":
            _, a, b = _summarize(r)
        else:
            c = r.choice(sorted(CAPITALS))
            a, b = c, CAPITALS[c]
        lines.append(f"{a} => {b}")
    title = {"past": "Put each sentence in the past tense.", "sums": "Work out each sum.",
             "sentiment": "Was each review good or bad?", "extract": "Who or where is it about?",
             "kinds": "Mammal, bird or fish?", "short": "Say it in a few words.", "capitals": "Countries and capitals."}[kind]
    return f"Worksheet. {title}\n" + "\n".join(lines)


def _doc_faq(r: random.Random) -> str:
    """A questions-and-answers page: answers that restate their question, in the page's own ``Q:``/``A:`` format."""
    lines = []
    for _ in range(r.randint(2, 4)):
        kind = r.random()
        if kind < 0.3:
            c = r.choice(sorted(CAPITALS))
            q, a = f"What is the capital of {c}?", f"The capital of {c} is {CAPITALS[c]}."
        elif kind < 0.5:
            w = r.choice(sorted(OPPOSITES))
            q, a = f"What is the opposite of {w}?", f"The opposite of {w} is {OPPOSITES[w]}."
        elif kind < 0.8:
            x, y = r.randint(1, 30), r.randint(1, 30)
            x, y = max(x, y), min(x, y)
            op, val = ("plus", x + y) if r.random() < 0.5 else ("minus", x - y)
            q, a = f"How much is {x} {op} {y}?", f"{x} {op} {y} is {val}."
        else:
            k = r.choice(sorted(KINDS))
            animal = r.choice(KINDS[k])
            q, a = f"Is a {animal} a mammal, a bird or a fish?", f"A {animal} is a {k}."
        lines.append(f"## Question\n{q}\n\n## Answer\n{a}")
    return "# Questions and answers\n\n" + "\n\n".join(lines)


def _doc_homework(r: random.Random) -> str:
    """A homework page: a task in words, a text, a worked solution, under the page's own Markdown headings."""
    kind = r.choice(["past", "sentiment", "extract", "short", "list"])
    if kind == "past":
        _, text, answer = _rewrite(r)
        task = r.choice(["Put the sentence in the past tense.", "Change the sentence to the past."])
    elif kind == "sentiment":
        _, text, answer = _classify(r)
        while answer not in ("Positive", "Negative"):
            _, text, answer = _classify(r)
        task, answer = "Is the review good or bad?", f"The review is {'good' if answer == 'Positive' else 'bad'}."
    elif kind == "extract":
        _, text, answer = _extract(r)
        task = r.choice(["Who is the sentence about?", "Which place is in the sentence?"])
        answer = next(w.strip(".,") for w in text.split() if w.strip(".,") in (NAMES if task.startswith("Who") else CITIES))
    elif kind == "short":
        _, text, answer = _summarize(r)
        task = "Say what happened in a few words."
    else:
        cat = r.choice(sorted(CATEGORIES))
        items = r.sample(CATEGORIES[cat], 3)
        task, text, answer = f"Name some {cat}.", "", f"For example {items[0]}, {items[1]} and {items[2]}."
    body = f"## Task\n{task}\n\n" + (f"## Text\n{text}\n\n" if text else "") + f"## Solution\n{answer}"
    return "# Homework\n\n" + body


DOCUMENTS = {"facts": _doc_facts, "story": _doc_story, "review": _doc_review, "lists": _doc_lists,
             "sums": _doc_sums, "news": _doc_news, "worksheet": _doc_worksheet, "faq": _doc_faq,
             "homework": _doc_homework}


def pretraining_documents(n: int, seed: int) -> list[str]:
    """Short plain-text documents of the same world, from their own random stream (never Alpaca's template)."""
    r = random.Random(seed + 104729)
    kinds, weights = list(DOCUMENTS), [1, 1, 1, 1, 1, 1, 2, 2, 2]
    return [DOCUMENTS[r.choices(kinds, weights)[0]](r) for _ in range(n)]
