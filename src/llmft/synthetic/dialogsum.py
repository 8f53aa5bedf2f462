"""Synthetic dialogues in exactly the schema of DialogSum (``knkarthick/dialogsum``).

Each record has ``id``, ``dialogue`` (turns ``#Person1#: ...`` joined by newlines),
``summary`` and ``topic``, like the real dataset. The summary is *not* a fixed
template of the input: who plays which role is drawn at random, the outcome of the
conversation (buys or leaves, accepts or declines, ...) changes the summary, and the
facts a summary needs sit at varying places among small-talk turns. A model has to
read the dialogue to summarise it.

The generator is deterministic: the same ``seed`` gives the same records.
"""

from __future__ import annotations

import random
from collections.abc import Callable

P1, P2 = "#Person1#", "#Person2#"

COLORS = ["red", "blue", "green", "black", "white", "brown", "grey", "yellow"]
ITEMS = ["coat", "jacket", "dress", "shirt", "sweater", "hat", "bag", "scarf", "pair of shoes", "watch"]
DISHES = ["beef steak", "fried rice", "chicken soup", "fish and chips", "vegetable pasta", "tomato salad", "lamb curry", "mushroom pizza"]
DRINKS = ["orange juice", "black tea", "a glass of water", "coffee", "apple juice", "lemonade", "green tea"]
CITIES = ["London", "Paris", "Boston", "Tokyo", "Beijing", "Rome", "Madrid", "Chicago", "Sydney", "Berlin"]
TRANSPORT = ["train", "plane", "bus", "boat"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TIMES = ["seven o'clock", "eight o'clock", "nine o'clock", "ten o'clock", "noon", "half past six", "three o'clock", "five o'clock"]
SYMPTOMS = ["headache", "sore throat", "cough", "fever", "stomach ache", "back pain", "cold"]
ADVICE = ["drink more water", "take some medicine", "stay in bed", "get more sleep", "stop smoking", "eat more fruit", "come back next week"]
POSITIONS = ["sales manager", "secretary", "engineer", "accountant", "teacher", "designer", "nurse", "driver"]
COMPANIES = ["a bank", "a hotel", "a school", "a hospital", "a travel agency", "a software company", "a car company"]
ACTIVITIES = ["see a movie", "play tennis", "have dinner", "go swimming", "visit the museum", "go shopping", "go to a concert"]
PLACES = ["the station", "the park", "the library", "the cinema", "the school gate", "the coffee shop", "the bus stop"]
REASONS = ["an exam", "work", "a meeting", "a family dinner", "a doctor's appointment", "a report"]
LOST = ["wallet", "phone", "key", "passport", "umbrella", "camera"]
NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "ten"]
PRICES = ["20", "35", "50", "80", "120", "150", "200", "300"]

GREETINGS = [
    ("Hello.", "Hi."),
    ("Hi, how are you?", "Fine, thanks. And you?"),
    ("Good morning.", "Good morning. What can I do for you?"),
    ("Good afternoon.", "Good afternoon."),
    ("Excuse me.", "Yes?"),
]
SMALL_TALK = [
    ("It is a lovely day, isn't it?", "Yes, it is very sunny today."),
    ("It's quite busy today.", "Yes, there are a lot of people here."),
    ("Have you been waiting long?", "No, only a few minutes."),
    ("Sorry, I am a little late.", "That's all right."),
]
CLOSINGS = [("Thank you very much.", "You're welcome."), ("Thanks for your help.", "No problem."), ("Goodbye.", "See you.")]

Turn = tuple[str, str]


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _shopping(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    # a = shop assistant, b = customer
    color, item = r.choice(COLORS), r.choice(ITEMS)
    price, cheaper = sorted(r.sample(PRICES, 2), key=int, reverse=True)
    thing = f"{color} {item}"
    turns = [(a, "Can I help you?"), (b, f"Yes, I'm looking for {_article(color)} {thing}."),
             (a, f"How about this one? It is {price} dollars.")]
    outcome = r.random()
    if outcome < 0.4:
        turns += [(b, "It looks nice. I'll take it.")]
        summary = f"{b} buys {_article(color)} {thing} for {price} dollars."
    elif outcome < 0.75:
        turns += [(b, "That's too expensive. Do you have a cheaper one?"),
                  (a, f"This one is only {cheaper} dollars."), (b, "Good, I'll take that one.")]
        summary = f"{b} wants {_article(color)} {thing}. {b} thinks the first one is too expensive and buys one for {cheaper} dollars."
    else:
        turns += [(b, "That's too expensive for me. I'll look somewhere else.")]
        summary = f"{b} wants to buy {_article(color)} {thing} but thinks it is too expensive."
    return turns, summary


def _restaurant(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    dish, drink = r.choice(DISHES), r.choice(DRINKS)
    turns = [(a, "Are you ready to order?"), (b, f"Yes, I'd like the {dish}, please."),
             (a, "Anything to drink?"), (b, f"{drink.capitalize()}, please.")]
    if r.random() < 0.5:
        turns += [(a, "Would you like a dessert?"), (b, "No, thank you. Just the bill later.")]
        summary = f"{b} orders the {dish} and {drink} but no dessert."
    else:
        summary = f"{b} orders the {dish} and {drink} from {a}."
    return turns, summary


def _travel(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    city, mode, day = r.choice(CITIES), r.choice(TRANSPORT), r.choice(DAYS)
    turns = [(b, f"I'd like to book a {mode} ticket to {city}."), (a, "When would you like to leave?"),
             (b, f"On {day}, in the morning if possible.")]
    if r.random() < 0.6:
        turns += [(a, f"There is one at {r.choice(TIMES)}. Shall I book it?"), (b, "Yes, please.")]
        summary = f"{b} books a {mode} ticket to {city} for {day} with {a}'s help."
    else:
        turns += [(a, f"Sorry, the {mode} on {day} is full."), (b, "Then I'll go another day.")]
        summary = f"{b} wants a {mode} ticket to {city} on {day}, but it is full."
    return turns, summary


def _doctor(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    symptom, days, advice = r.choice(SYMPTOMS), r.choice(NUMBERS), r.choice(ADVICE)
    turns = [(a, "What seems to be the problem?"), (b, f"I have a {symptom}."),
             (a, "How long have you had it?"), (b, f"For about {days} days."),
             (a, f"It is nothing serious. You should {advice}.")]
    summary = f"{b} has had a {symptom} for {days} days. {a} tells {b} to {advice}."
    return turns, summary


def _interview(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    pos, comp, years = r.choice(POSITIONS), r.choice(COMPANIES), r.choice(NUMBERS)
    turns = [(a, f"Why do you want to be our {pos}?"), (b, f"I have worked as {_article(pos)} {pos} at {comp} for {years} years."),
             (a, "What are your strengths?"), (b, "I am hard-working and I learn fast.")]
    if r.random() < 0.5:
        turns += [(a, "Good. You can start next week.")]
        summary = f"{a} interviews {b} for the {pos} position. {b} has {years} years of experience and gets the job."
    else:
        turns += [(a, "Thank you. We will call you later.")]
        summary = f"{a} interviews {b} for the {pos} position. {b} worked at {comp} for {years} years."
    return turns, summary


def _plans(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    act, day, place, time = r.choice(ACTIVITIES), r.choice(DAYS), r.choice(PLACES), r.choice(TIMES)
    turns = [(a, f"Would you like to {act} with me on {day}?")]
    if r.random() < 0.6:
        turns += [(b, "Sure. Where shall we meet?"), (a, f"Let's meet at {place} at {time}."), (b, "OK, see you then.")]
        summary = f"{a} invites {b} to {act} on {day}. They will meet at {place} at {time}."
    else:
        reason = r.choice(REASONS)
        turns += [(b, f"Sorry, I can't. I have {_article(reason)} {reason} on {day}."), (a, "What a pity. Maybe next time.")]
        summary = f"{a} invites {b} to {act}, but {b} has {_article(reason)} {reason} on {day}."
    return turns, summary


def _apartment(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    rooms, place, price, day = r.choice(NUMBERS[:4]), r.choice(PLACES), r.choice(PRICES), r.choice(DAYS)
    turns = [(b, f"I am looking for an apartment with {rooms} bedrooms near {place}."),
             (a, f"We have one. The rent is {price} dollars a week."), (b, "Can I see it?"),
             (a, f"Of course. How about {day}?"), (b, "That's fine.")]
    summary = f"{b} is looking for an apartment with {rooms} bedrooms. {b} will see one near {place} on {day}."
    return turns, summary


def _lost(r: random.Random, a: str, b: str) -> tuple[list[Turn], str]:
    thing, place = r.choice(LOST), r.choice(PLACES)
    turns = [(b, f"I think I lost my {thing}."), (a, "Where did you last see it?"), (b, f"At {place}, this morning.")]
    if r.random() < 0.5:
        turns += [(a, f"Someone brought {_article(thing)} {thing} from {place}. Is this yours?"), (b, "Yes! Thank you so much.")]
        summary = f"{b} lost {_article(thing)} {thing} at {place}, and {a} gives it back."
    else:
        turns += [(a, "Sorry, nobody has brought one. Please fill in this form."), (b, "All right.")]
        summary = f"{b} lost {_article(thing)} {thing} at {place}. {a} asks {b} to fill in a form."
    return turns, summary


TOPICS: dict[str, Callable[[random.Random, str, str], tuple[list[Turn], str]]] = {
    "shopping": _shopping,
    "restaurant": _restaurant,
    "travel": _travel,
    "see a doctor": _doctor,
    "job interview": _interview,
    "make plans": _plans,
    "rent an apartment": _apartment,
    "lost property": _lost,
}


def make_dialogue(r: random.Random) -> tuple[str, str, str]:
    """Draw one dialogue; returns ``(dialogue, summary, topic)``."""
    topic = r.choice(list(TOPICS))
    a, b = (P1, P2) if r.random() < 0.5 else (P2, P1)
    core, summary = TOPICS[topic](r, a, b)
    first, last = core[0][0], core[-1][0]
    other = {P1: P2, P2: P1}
    turns: list[Turn] = []
    # Pairs of turns before and after the core keep the speakers alternating.
    for p_open, pairs in ((0.7, GREETINGS), (0.3, SMALL_TALK)):
        if r.random() < p_open:
            q, ans = r.choice(pairs)
            turns += [(first, q), (other[first], ans)]
    turns += core
    if r.random() < 0.6:
        q, ans = r.choice(CLOSINGS)
        turns += [(other[last], q), (last, ans)]
    # DialogSum always starts with #Person1#: relabel if the first speaker is P2.
    if turns[0][0] == P2:
        swap = {P1: P2, P2: P1}
        turns = [(swap[s], t) for s, t in turns]
        summary = summary.replace(P1, "\0").replace(P2, P1).replace("\0", P2)
    dialogue = "\n".join(f"{s}: {t}" for s, t in turns)
    return dialogue, summary, topic


def make_split(split: str, n: int, seed: int) -> list[dict[str, str]]:
    """``n`` records for ``split`` with ids like DialogSum's (``train_0``, ``test_0_1``...)."""
    offset = {"train": 0, "validation": 1, "test": 2}[split]
    r = random.Random(seed * 1000 + offset)
    rows = []
    for i in range(n):
        dialogue, summary, topic = make_dialogue(r)
        rid = f"{split}_{i}" if split == "train" else f"{split}_{i}_1"
        rows.append({"id": rid, "dialogue": dialogue, "summary": summary, "topic": topic})
    return rows
