"""Synthetic dialogues in exactly the schema of DialogSum (``knkarthick/dialogsum``).

Each record has ``id``, ``dialogue`` (turns ``#Person1#: ...`` joined by newlines), ``summary``
and ``topic``, like the real dataset. What makes the task a real one:

* **Scenario families** (:data:`SCENES`, more than 20): each has slots (an item, a price, a city),
  an opening, several possible outcomes, and *several phrasings* for every line and every summary.
  The summary depends on the slots and on the outcome, so a model has to read the dialogue.
* **Length**: details and small talk that the summary leaves out are drawn with a long tail, so
  dialogues run from a few lines to long conversations (mean near a hundred words).
* **Topics**: free-text labels as annotators write them, some specific ("book a ticket"), some shared
  by several kinds of conversation ("service", "plans", "shopping", "daily casual"), so a topic does
  not give the summary away.
* **People**: most summaries name the speakers as ``#Person1#``/``#Person2#``; in some dialogues the
  speakers use names, and then the summary may too; a few dialogues have a third speaker.
* **Splits like the hub's**: ``train`` and ``validation`` have one summary per dialogue; ``test`` has
  three rows per dialogue (``test_0_1`` .. ``test_0_3``) with three different reference summaries and
  topics, as the real test split does. No validation or test dialogue also appears in ``train``.

The generator is deterministic: the same ``seed`` gives the same records.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

P1, P2, P3 = "#Person1#", "#Person2#", "#Person3#"

# ---------------------------------------------------------------- vocabulary
V = {
    "color": ["red", "blue", "green", "black", "white", "brown", "grey", "yellow", "dark blue", "pink"],
    "item": ["coat", "jacket", "dress", "shirt", "sweater", "hat", "bag", "scarf", "pair of shoes", "watch", "skirt"],
    "dish": ["beef steak", "fried rice", "chicken soup", "fish and chips", "vegetable pasta", "tomato salad",
             "lamb curry", "mushroom pizza", "roast duck", "noodle soup"],
    "drink": ["orange juice", "black tea", "a glass of water", "coffee", "apple juice", "lemonade", "green tea", "a beer"],
    "city": ["London", "Paris", "Boston", "Tokyo", "Beijing", "Rome", "Madrid", "Chicago", "Sydney", "Berlin",
             "New York", "Shanghai", "Toronto", "Seattle"],
    "mode": ["train", "plane", "bus", "boat"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "time": ["seven o'clock", "eight o'clock", "nine o'clock", "ten o'clock", "noon", "half past six", "three o'clock",
             "five o'clock", "half past four"],
    "symptom": ["headache", "sore throat", "cough", "fever", "stomach ache", "back pain", "cold", "toothache"],
    "advice": ["drink more water", "take some medicine", "stay in bed", "get more sleep", "stop smoking",
               "eat more fruit", "come back next week", "do more exercise"],
    "job": ["sales manager", "secretary", "engineer", "accountant", "teacher", "designer", "nurse", "driver",
            "programmer", "waiter"],
    "company": ["a bank", "a hotel", "a school", "a hospital", "a travel agency", "a software company",
                "a car company", "a supermarket"],
    "activity": ["see a movie", "play tennis", "have dinner", "go swimming", "visit the museum", "go shopping",
                 "go to a concert", "go hiking", "play basketball"],
    "place": ["the station", "the park", "the library", "the cinema", "the school gate", "the coffee shop",
              "the bus stop", "the bank", "the post office"],
    "reason": ["an exam", "a lot of work", "a meeting", "a family dinner", "a doctor's appointment", "a report to finish"],
    "lost": ["wallet", "phone", "key", "passport", "umbrella", "camera", "laptop"],
    "num": ["two", "three", "four", "five", "six", "seven", "eight", "ten"],
    "small": ["two", "three", "four"],
    "price": ["20", "35", "50", "80", "120", "150", "200", "300", "450", "600"],
    "room": ["single room", "double room", "room with a sea view", "family room"],
    "nights": ["two nights", "three nights", "one night", "a week"],
    "book": ["a novel", "a history book", "a cookbook", "a book about computers", "a travel guide", "a dictionary"],
    "sport": ["football", "tennis", "basketball", "swimming", "running", "table tennis"],
    "gift": ["a watch", "a book", "some flowers", "a scarf", "a cake", "a phone case", "a pair of gloves"],
    "relative": ["mother", "father", "sister", "brother", "wife", "husband", "grandmother", "son", "daughter"],
    "car_part": ["brakes", "engine", "tyres", "lights", "air conditioner"],
    "parcel": ["a parcel", "a letter", "a package", "some documents"],
    "subject": ["math", "history", "English", "chemistry", "physics", "biology", "economics"],
    "grade": ["an A", "a B", "a C"],
    "currency": ["euros", "yen", "pounds", "dollars"],
    "pet": ["dog", "cat", "rabbit", "parrot"],
    "hobby": ["painting", "playing the piano", "cooking", "photography", "gardening", "reading"],
    "weather": ["rain", "snow", "strong wind", "a storm"],
    "appliance": ["washing machine", "fridge", "computer", "television", "printer", "microwave"],
    "street": ["Green Street", "Park Road", "Main Street", "King's Road", "River Lane", "Hill Street"],
    "party": ["a birthday party", "a wedding", "a farewell party", "a dinner party"],
}
NAMES = ["Mary", "Tom", "John", "Susan", "Mike", "Linda", "David", "Jenny", "Bill", "Kate", "Peter", "Anna", "Jack",
         "Lucy", "Steven", "Emma", "Frank", "Alice", "Bob", "Helen", "Mr. Smith", "Mrs. Brown", "Dr. Green", "Ms. White"]

# Small talk and asides that a summary leaves out: (first speaker, other speaker) pairs.
SMALL_TALK = [
    ("It is a lovely day, isn't it?", "Yes, it is very sunny today. I hope it stays like this for the weekend."),
    ("It's quite busy today.", "Yes, there are a lot of people here. It's always like this before the holidays."),
    ("Have you been waiting long?", "No, only a few minutes. I was early for once."),
    ("Sorry, I am a little late. The bus didn't come.", "That's all right. I only just got here myself."),
    ("How was your weekend?", "Not bad. I stayed at home, cleaned the flat and watched a film on TV."),
    ("Did you see the news this morning?", "No, I didn't have time. I left home in a hurry. What happened?"),
    ("It's so cold today.", "Yes, I should have brought a warmer coat. The wind is terrible."),
    ("The traffic was terrible this morning.", "I know. It took me almost an hour to get here from the city centre."),
    ("How is your family?", "They are all fine, thank you. My son has just started school."),
    ("I haven't seen you for a long time.", "Yes, I have been very busy lately with my new job."),
    ("Is it always this crowded here?", "Only at the weekend, I think. During the week it is much quieter."),
    ("What a long week it has been.", "You can say that again. I can't wait for Friday evening."),
    ("Did you have a good holiday?", "Yes, we went to the seaside for a week. The food was wonderful."),
    ("How are things at work?", "Busy as usual. We have a new manager, and everything is changing."),
    ("I like your new haircut.", "Thank you. I wanted something shorter for the summer."),
    ("Are you still living in the same place?", "Yes, but we are thinking about moving somewhere bigger next year."),
    ("Have you tried the new coffee shop on the corner?", "Not yet. Is it any good?"),
    ("I'm so tired today.", "Me too. I didn't sleep well last night because of the noise outside."),
    ("Is your sister still studying abroad?", "Yes, she is in her second year now. She calls us every Sunday."),
    ("You look happy today.", "I am. I finally finished a big project at work yesterday."),
]
TALK_FOLLOW_UPS = [  # a second exchange that may follow small talk
    ("That sounds nice. I should do that too.", "You should. It really helps after a busy week."),
    ("Really? I didn't know that.", "Yes, I only heard about it yesterday myself."),
    ("I know what you mean.", "Well, at least the weather is getting better."),
    ("Oh, I almost forgot to ask you something.", "Sure, go ahead."),
]
GREETINGS = [("Hello.", "Hi."), ("Hi, how are you?", "Fine, thanks. And you?"),
             ("Good morning.", "Good morning. What can I do for you?"), ("Good afternoon.", "Good afternoon."),
             ("Excuse me.", "Yes?"), ("Hey, do you have a minute?", "Sure, what's up?")]
CLOSINGS = [("Thank you very much.", "You're welcome."), ("Thanks for your help.", "No problem."),
            ("Goodbye.", "See you."), ("Have a nice day.", "You too."), ("Thanks a lot.", "My pleasure.")]
INTERJECTIONS = [  # a third speaker, whom the summary does not need
    ("Sorry to interrupt. There is a phone call for you.", "Thanks, I'll call back later."),
    ("Excuse me, is this seat taken?", "No, please sit down."),
    ("Hi, I just wanted to say hello.", "Oh, hi! Nice to see you."),
    ("Sorry, do you know where the toilet is?", "It's down the hall on the left."),
]

A, B = "A", "B"  # roles inside a scene: A usually serves or invites, B is the customer or guest


@dataclass
class Outcome:
    weight: float
    turns: list  # (role, phrasing or [phrasings]) after the opening
    summaries: list[str]  # several phrasings of the same summary; {A}, {B} and slots are filled in


@dataclass
class Scene:
    topics: tuple[str, ...]  # free-text topic phrasings, like DialogSum's annotators wrote
    slots: dict  # slot name -> vocabulary key in V
    opening: list
    outcomes: list[Outcome]
    details: list = field(default_factory=list)  # optional (role, text) pairs the summary leaves out


def _o(weight, turns, *summaries):
    return Outcome(weight, turns, list(summaries))


SCENES: dict[str, Scene] = {
    "shopping": Scene(
        ("shopping", "buy clothes", "shopping for clothes"), {"color": "color", "item": "item", "price": "price",
                                                              "cheaper": "price"},
        [(A, ["Can I help you?", "What can I do for you?", "Are you looking for anything special?"]),
         (B, ["Yes, I'm looking for a {color} {item}.", "I need a {color} {item}.", "Do you have a {color} {item}?"]),
         (A, ["How about this one? It is {price} dollars.", "This one is {price} dollars. It's very popular."])],
        [_o(0.4, [(B, ["It looks nice. I'll take it.", "I like it. I'll take it.", "Great, I'll buy it."])],
            "{B} buys a {color} {item} for {price} dollars.", "{B} wants a {color} {item} and buys one for {price} dollars.",
            "{A} helps {B} find a {color} {item}. {B} buys it for {price} dollars."),
         _o(0.35, [(B, ["That's too expensive. Do you have a cheaper one?", "Is there anything cheaper?"]),
                   (A, ["This one is only {cheaper} dollars.", "We have this one for {cheaper} dollars."]),
                   (B, ["Good, I'll take that one.", "OK, I'll buy that one."])],
            "{B} wants a {color} {item} but thinks the first one is too expensive, so {B} buys one for {cheaper} dollars.",
            "{B} buys a cheaper {color} {item} for {cheaper} dollars.",
            "{B} is looking for a {color} {item} and buys a cheaper one for {cheaper} dollars."),
         _o(0.25, [(B, ["That's too expensive for me. I'll look somewhere else.", "Hmm, it's too much. Maybe next time."])],
            "{B} wants to buy a {color} {item} but thinks it is too expensive.",
            "{B} doesn't buy the {color} {item} because it costs {price} dollars.",
            "{A} shows {B} a {color} {item}, but {B} thinks it is too expensive.")],
        [(A, ["What size do you wear?"]), (B, ["Medium, I think."]), (B, ["Can I try it on?"]),
         (A, ["Of course. The fitting room is over there."])],
    ),
    "restaurant": Scene(
        ("restaurant", "order food", "dining out", "meal"), {"dish": "dish", "drink": "drink"},
        [(A, ["Are you ready to order?", "May I take your order?", "What would you like today?"]),
         (B, ["Yes, I'd like the {dish}, please.", "I'll have the {dish}.", "The {dish}, please."]),
         (A, ["Anything to drink?", "And what would you like to drink?"]), (B, ["{drink}, please.", "Just {drink}."])],
        [_o(0.5, [(A, ["Would you like a dessert?", "Any dessert?"]), (B, ["No, thank you. Just the bill later."])],
            "{B} orders the {dish} and {drink} but no dessert.", "{B} orders the {dish} with {drink} and doesn't want dessert.",
            "{A} takes {B}'s order: the {dish} and {drink}, without dessert."),
         _o(0.5, [(A, ["Good choice. It will be ready in ten minutes.", "OK. I'll bring it soon."])],
            "{B} orders the {dish} and {drink}.", "{B} orders the {dish} and {drink} from {A}.",
            "{A} takes {B}'s order of the {dish} and {drink}.")],
        [(B, ["Is the {dish} spicy?"]), (A, ["Just a little."]), (B, ["Can we sit by the window?"]), (A, ["Sure, this way."])],
    ),
    "ticket": Scene(
        ("travel", "book a ticket", "trip"), {"city": "city", "mode": "mode", "day": "day",
                                                                        "time": "time"},
        [(B, ["I'd like to book a {mode} ticket to {city}.", "I need a {mode} ticket to {city}, please."]),
         (A, ["When would you like to leave?", "Which day do you want to go?"]), (B, ["On {day}, in the morning if possible."])],
        [_o(0.6, [(A, ["There is one at {time}. Shall I book it?", "The {mode} leaves at {time}. Is that OK?"]),
                  (B, ["Yes, please.", "That's perfect."])],
            "{B} books a {mode} ticket to {city} for {day} with {A}'s help.", "{B} buys a {mode} ticket to {city} for {day} at {time}.",
            "{A} helps {B} book a {mode} ticket to {city}. {B} will leave on {day}."),
         _o(0.4, [(A, ["Sorry, the {mode} on {day} is full.", "I'm afraid there are no seats left on {day}."]),
                  (B, ["Then I'll go another day.", "Oh no. I'll think about it."])],
            "{B} wants a {mode} ticket to {city} on {day}, but it is full.",
            "{B} can't get a {mode} ticket to {city} because {day} is full.",
            "{A} tells {B} that there are no {mode} tickets to {city} on {day}.")],
        [(A, ["One way or return?"]), (B, ["Return, please."]), (A, ["Would you like a window seat?"]), (B, ["Yes, please."])],
    ),
    "doctor": Scene(
        ("see a doctor", "health", "illness"), {"symptom": "symptom", "n": "num", "advice": "advice"},
        [(A, ["What seems to be the problem?", "What's wrong with you?", "How can I help you today?"]),
         (B, ["I have a {symptom}.", "I've got a terrible {symptom}."]),
         (A, ["How long have you had it?"]), (B, ["For about {n} days."])],
        [_o(0.7, [(A, ["It is nothing serious. You should {advice}.", "Don't worry. Just {advice}."])],
            "{B} has had a {symptom} for {n} days. {A} tells {B} to {advice}.",
            "{B} sees {A} about a {symptom}. {A} says it is not serious and advises {B} to {advice}.",
            "{A} advises {B}, who has a {symptom}, to {advice}."),
         _o(0.3, [(A, ["I think you need a test. Please come back on Monday."]), (B, ["All right, I will."])],
            "{B} has had a {symptom} for {n} days, and {A} wants {B} to have a test.",
            "{A} asks {B} to come back for a test because of the {symptom}.",
            "{B} has a {symptom}. {A} will do a test on Monday.")],
        [(A, ["Do you have a fever?"]), (B, ["No, I don't think so."]), (A, ["Are you taking any medicine?"]), (B, ["No, nothing."])],
    ),
    "interview": Scene(
        ("job interview", "interview", "job"), {"job": "job", "company": "company", "n": "num"},
        [(A, ["Why do you want to be our {job}?", "Tell me about yourself.", "Why did you apply for the {job} position?"]),
         (B, ["I have worked as a {job} at {company} for {n} years.", "I was a {job} at {company} for {n} years."]),
         (A, ["What are your strengths?"]), (B, ["I am hard-working and I learn fast.", "I am good at working with people."])],
        [_o(0.5, [(A, ["Good. You can start next week.", "Great. We'd like to offer you the job."])],
            "{A} interviews {B} for the {job} position. {B} has {n} years of experience and gets the job.",
            "{B} gets the {job} job after an interview with {A}.",
            "{B}, who worked at {company} for {n} years, is hired as a {job}."),
         _o(0.5, [(A, ["Thank you. We will call you later.", "Thanks for coming. We will let you know."])],
            "{A} interviews {B} for the {job} position. {B} worked at {company} for {n} years.",
            "{B} has an interview for the {job} position and tells {A} about {n} years at {company}.",
            "{A} asks {B} about work experience. {B} was a {job} at {company}.")],
        [(A, ["Why did you leave your last job?"]), (B, ["I wanted a new challenge."]), (A, ["Do you speak English?"]),
         (B, ["Yes, quite well."])],
    ),
    "invitation": Scene(
        ("make plans", "plans", "weekend plans", "daily casual"), {"act": "activity", "day": "day", "place": "place",
                                                                "time": "time", "reason": "reason"},
        [(A, ["Would you like to {act} with me on {day}?", "Are you free on {day}? Let's {act}.",
              "How about going to {act} on {day}?"])],
        [_o(0.6, [(B, ["Sure. Where shall we meet?", "Good idea. Where do we meet?"]),
                  (A, ["Let's meet at {place} at {time}.", "How about {place} at {time}?"]), (B, ["OK, see you then."])],
            "{A} invites {B} to {act} on {day}. They will meet at {place} at {time}.",
            "{A} and {B} will {act} on {day} and meet at {place} at {time}.",
            "{B} agrees to {act} with {A} on {day}. They will meet at {place}."),
         _o(0.4, [(B, ["Sorry, I can't. I have {reason} on {day}.", "I'd love to, but I have {reason} that day."]),
                  (A, ["What a pity. Maybe next time.", "Never mind. Another time."])],
            "{A} invites {B} to {act}, but {B} has {reason} on {day}.",
            "{B} can't {act} with {A} on {day} because of {reason}.",
            "{A} asks {B} to {act} on {day}, but {B} is busy with {reason}.")],
        [(B, ["Who else is coming?"]), (A, ["Just a few friends."]), (B, ["Should I bring anything?"]), (A, ["No, just come."])],
    ),
    "apartment": Scene(
        ("rent an apartment", "housing", "renting"), {"n": "small", "place": "place", "price": "price",
                                                                         "day": "day"},
        [(B, ["I am looking for an apartment with {n} bedrooms near {place}.", "I need a {n}-bedroom flat near {place}."]),
         (A, ["We have one. The rent is {price} dollars a week.", "There is one for {price} dollars a week."])],
        [_o(0.6, [(B, ["Can I see it?", "Could I have a look at it?"]), (A, ["Of course. How about {day}?"]),
                  (B, ["That's fine."])],
            "{B} is looking for an apartment with {n} bedrooms. {B} will see one near {place} on {day}.",
            "{A} will show {B} a {n}-bedroom apartment near {place} on {day}.",
            "{B} wants to rent an apartment near {place} and will see it on {day}. The rent is {price} dollars a week."),
         _o(0.4, [(B, ["That's more than I can pay.", "That's too much for me."]),
                  (A, ["I'm sorry. That's the cheapest one we have."])],
            "{B} wants an apartment with {n} bedrooms near {place}, but the rent of {price} dollars is too high.",
            "{B} thinks the {n}-bedroom apartment near {place} is too expensive.",
            "{A} offers {B} an apartment for {price} dollars a week, but it is too expensive for {B}.")],
        [(B, ["Is there a kitchen?"]), (A, ["Yes, a big one."]), (B, ["Are pets allowed?"]), (A, ["I'm afraid not."])],
    ),
    "lost": Scene(
        ("lost property", "lost and found", "service"), {"thing": "lost", "place": "place"},
        [(B, ["I think I lost my {thing}.", "I can't find my {thing}."]), (A, ["Where did you last see it?"]),
         (B, ["At {place}, this morning.", "I think I left it at {place}."])],
        [_o(0.5, [(A, ["Someone brought a {thing} from {place}. Is this yours?"]), (B, ["Yes! Thank you so much."])],
            "{B} lost a {thing} at {place}, and {A} gives it back.", "{B} gets the lost {thing} back from {A}.",
            "{B} left a {thing} at {place}. Someone found it, and {A} returns it to {B}."),
         _o(0.5, [(A, ["Sorry, nobody has brought one. Please fill in this form."]), (B, ["All right."])],
            "{B} lost a {thing} at {place}. {A} asks {B} to fill in a form.",
            "{B} reports a lost {thing} to {A}, but nobody has found it yet.",
            "{B} can't find a {thing} lost at {place} and fills in a form.")],
        [(A, ["What colour is it?"]), (B, ["It's black."]), (A, ["Was there anything inside?"]), (B, ["Some money and my cards."])],
    ),
    "hotel": Scene(
        ("hotel", "travel", "book a room", "hotel service"), {"room": "room", "nights": "nights", "price": "price"},
        [(A, ["Welcome to our hotel. How can I help you?", "Good evening. Do you have a reservation?"]),
         (B, ["I'd like a {room} for {nights}.", "I want to book a {room} for {nights}."])],
        [_o(0.65, [(A, ["No problem. It's {price} dollars a night.", "We have one for {price} dollars a night."]),
                   (B, ["That's fine. I'll take it."])],
            "{B} books a {room} for {nights} at {price} dollars a night.",
            "{B} checks in to a {room} for {nights}.",
            "{A} gives {B} a {room} for {nights}. It costs {price} dollars a night."),
         _o(0.35, [(A, ["I'm sorry, we are fully booked.", "Sorry, we have no rooms left tonight."]),
                   (B, ["Oh, can you suggest another hotel?"]), (A, ["Try the one across the street."])],
            "{B} wants a {room} for {nights}, but the hotel is full.",
            "{A} tells {B} the hotel is fully booked and suggests another one.",
            "{B} can't get a {room} because the hotel has no rooms left.")],
        [(A, ["May I see your passport?"]), (B, ["Here you are."]), (B, ["Is breakfast included?"]), (A, ["Yes, from seven."])],
    ),
    "bank": Scene(
        ("bank", "service", "exchange money"), {"price": "price", "cur": "currency"},
        [(A, ["What can I do for you?", "Next, please."]),
         (B, ["I'd like to change {price} dollars into {cur}.", "Can I exchange {price} dollars for {cur}?"])],
        [_o(0.6, [(A, ["Sure. Can I see your ID?"]), (B, ["Here it is."]), (A, ["Here is your money."])],
            "{B} changes {price} dollars into {cur} at the bank.", "{A} helps {B} exchange {price} dollars for {cur}.",
            "{B} exchanges {price} dollars for {cur} after showing an ID."),
         _o(0.4, [(A, ["Sorry, we don't have any {cur} today.", "I'm afraid we have run out of {cur}."]),
                  (B, ["Oh. Where else can I go?"]), (A, ["Try the bank on Main Street."])],
            "{B} wants to change {price} dollars into {cur}, but the bank has none.",
            "{A} can't give {B} any {cur} and sends {B} to another bank.",
            "The bank has no {cur}, so {B} can't change {price} dollars.")],
        [(A, ["Would you like big notes?"]), (B, ["Small ones, please."])],
    ),
    "directions": Scene(
        ("ask for directions", "directions", "daily casual"), {"place": "place", "street": "street", "n": "small"},
        [(B, ["Excuse me, how can I get to {place}?", "Could you tell me the way to {place}?"])],
        [_o(0.7, [(A, ["Go along {street} and turn left at the end.", "Walk down {street}. It's on your right."]),
                  (B, ["Is it far?"]), (A, ["No, it's about {n} minutes on foot."])],
            "{B} asks {A} the way to {place}. It's on {street}, {n} minutes away on foot.",
            "{A} tells {B} how to get to {place} along {street}.",
            "{B} is looking for {place}. {A} says to walk along {street}."),
         _o(0.3, [(A, ["Sorry, I'm new here myself.", "I'm sorry, I don't know this area."]),
                  (B, ["Thanks anyway. I'll ask someone else."])],
            "{B} asks {A} the way to {place}, but {A} doesn't know.",
            "{A} can't tell {B} how to get to {place}.",
            "{B} wants to find {place}, but {A} is new here.")],
        [(B, ["Can I take a bus?"]), (A, ["Yes, but walking is faster."])],
    ),
    "phone_message": Scene(
        ("phone call", "leave a message", "telephone"), {"time": "time", "reason": "reason", "day": "day"},
        [(B, ["Hello, may I speak to {X}?", "Hi, is {X} there?"]),
         (A, ["Sorry, {X} is out at the moment.", "I'm afraid {X} is not in."])],
        [_o(0.6, [(B, ["Could you ask {X} to call me back before {time}?"]), (A, ["Sure, I'll tell {X}."])],
            "{B} calls {X}, who is out. {A} will ask {X} to call back before {time}.",
            "{B} leaves a message for {X}: call back before {time}.",
            "{A} takes a message from {B} asking {X} to return the call before {time}."),
         _o(0.4, [(B, ["Please tell {X} that the meeting on {day} is cancelled."]), (A, ["OK, I'll let {X} know."])],
            "{B} calls to tell {X} that the meeting on {day} is cancelled.",
            "{A} takes a message for {X}: the {day} meeting is cancelled.",
            "{B} leaves a message that the meeting on {day} won't happen.")],
        [(A, ["Can I have your number?"]), (B, ["Yes, it's five five five, one two three four."])],
    ),
    "car_repair": Scene(
        ("car repair", "service", "fix the car"), {"part": "car_part", "price": "price", "day": "day"},
        [(B, ["There is something wrong with my car's {part}.", "Could you check the {part} of my car?"]),
         (A, ["Let me have a look.", "OK, I'll check it."]), (A, ["The {part} need fixing. It will cost {price} dollars."])],
        [_o(0.6, [(B, ["Fine. When will it be ready?"]), (A, ["On {day}."])],
            "{B}'s car has a problem with the {part}. {A} will fix it for {price} dollars by {day}.",
            "{A} will repair the {part} of {B}'s car for {price} dollars.",
            "{B} agrees to pay {price} dollars to fix the {part}, and the car will be ready on {day}."),
         _o(0.4, [(B, ["That's too much. I'll try another garage."])],
            "{A} says fixing the {part} costs {price} dollars, but {B} thinks it is too much.",
            "{B} won't pay {price} dollars for the {part} and goes to another garage.",
            "{B}'s car needs work on the {part}, but {B} finds the price too high.")],
        [(A, ["When did you notice the problem?"]), (B, ["Last week."])],
    ),
    "library": Scene(
        ("library", "borrow a book", "school"), {"book": "book", "n": "small"},
        [(B, ["I'd like to borrow {book}.", "Do you have {book}?"]), (A, ["Let me check."])],
        [_o(0.6, [(A, ["Yes, here it is. You can keep it for {n} weeks."]), (B, ["Great, thanks."])],
            "{B} borrows {book} from the library for {n} weeks.",
            "{A} lends {B} {book} for {n} weeks.",
            "{B} gets {book} and must return it in {n} weeks."),
         _o(0.4, [(A, ["Sorry, it's out. Would you like to reserve it?"]), (B, ["Yes, please."])],
            "{B} wants to borrow {book}, but it is out, so {B} reserves it.",
            "{A} helps {B} reserve {book} because someone else has it.",
            "{B} reserves {book}, which is not in the library now.")],
        [(A, ["Do you have your library card?"]), (B, ["Yes, here it is."])],
    ),
    "post_office": Scene(
        ("post office", "send a parcel", "service"), {"parcel": "parcel", "city": "city", "price": "price", "n": "small"},
        [(B, ["I want to send {parcel} to {city}.", "How much is it to send {parcel} to {city}?"]),
         (A, ["By air or by sea?"])],
        [_o(0.5, [(B, ["By air, please."]), (A, ["That's {price} dollars. It takes {n} days."]), (B, ["OK."])],
            "{B} sends {parcel} to {city} by air for {price} dollars.",
            "{B} pays {price} dollars to send {parcel} to {city}. It takes {n} days.",
            "{A} helps {B} send {parcel} to {city} by air."),
         _o(0.5, [(B, ["By sea. It's cheaper, isn't it?"]), (A, ["Yes, but it takes a month."]), (B, ["That's fine."])],
            "{B} sends {parcel} to {city} by sea because it is cheaper.",
            "{B} chooses to send {parcel} to {city} by sea, which takes a month.",
            "{A} tells {B} that sending {parcel} to {city} by sea takes a month.")],
        [(A, ["What's inside?"]), (B, ["Just some books."])],
    ),
    "exam": Scene(
        ("exam", "school", "study"), {"subject": "subject", "grade": "grade", "day": "day"},
        [(A, ["How did your {subject} exam go?", "Did you get your {subject} results?"])],
        [_o(0.5, [(B, ["I got {grade}! I studied very hard.", "Really well. I got {grade}."]),
                  (A, ["Congratulations!", "Well done!"])],
            "{B} got {grade} in the {subject} exam.", "{B} tells {A} about getting {grade} in {subject}.",
            "{B} did well in the {subject} exam and got {grade}."),
         _o(0.5, [(B, ["Not well. I have to take it again on {day}."]), (A, ["Don't worry. I can help you study."])],
            "{B} didn't do well in {subject} and will take the exam again on {day}. {A} offers to help.",
            "{A} will help {B} study {subject} for the exam on {day}.",
            "{B} failed the {subject} exam, and {A} offers help before {day}.")],
        [(A, ["Was it difficult?"]), (B, ["Some questions were very hard."])],
    ),
    "gift": Scene(
        ("birthday", "buy a gift", "shopping", "present"), {"gift": "gift", "rel": "relative", "price": "price"},
        [(A, ["What are you going to buy for your {rel}'s birthday?", "It's your {rel}'s birthday soon, right?"])],
        [_o(0.6, [(B, ["I'm thinking of {gift}.", "Maybe {gift}."]), (A, ["Good idea. I'm sure your {rel} will love it."])],
            "{B} plans to buy {gift} for the {rel}'s birthday.",
            "{A} and {B} talk about a birthday present. {B} will buy {gift} for the {rel}.",
            "{B} decides to give the {rel} {gift}."),
         _o(0.4, [(B, ["I have no idea.", "I don't know yet."]), (A, ["How about {gift}?"]), (B, ["That's a great idea."])],
            "{A} suggests {gift} as a present for {B}'s {rel}.",
            "{B} doesn't know what to buy for the {rel}, and {A} suggests {gift}.",
            "{A} helps {B} choose {gift} for the {rel}'s birthday.")],
        [(B, ["How much should I spend?"]), (A, ["Not more than {price} dollars, I think."])],
    ),
    "hair": Scene(
        ("haircut", "appointment", "service"), {"day": "day", "time": "time"},
        [(B, ["I'd like to make an appointment for a haircut.", "Can I book a haircut?"]),
         (A, ["When would you like to come?"]), (B, ["On {day} at {time}, if possible."])],
        [_o(0.6, [(A, ["That's fine. See you on {day}."])],
            "{B} makes an appointment for a haircut on {day} at {time}.",
            "{A} books {B} a haircut on {day} at {time}.",
            "{B} will get a haircut on {day}."),
         _o(0.4, [(A, ["Sorry, we are full then. How about the next day?"]), (B, ["OK, the next day is fine."])],
            "{B} wants a haircut on {day}, but the salon is full, so {B} comes the next day.",
            "{A} moves {B}'s haircut to the day after {day}.",
            "{B} books a haircut for the day after {day} because {day} is full.")],
        [(A, ["How would you like it?"]), (B, ["Just a little shorter."])],
    ),
    "complaint": Scene(
        ("complaint", "shopping", "customer service", "return a product"), {"app": "appliance", "n": "small", "price": "price"},
        [(B, ["I bought this {app} {n} days ago, and it doesn't work.", "My new {app} is broken."]),
         (A, ["I'm sorry to hear that. Do you have the receipt?"]), (B, ["Yes, here it is."])],
        [_o(0.5, [(A, ["We can give you a new one.", "I'll change it for a new one."]), (B, ["Thank you."])],
            "{B} returns a broken {app}, and {A} gives {B} a new one.",
            "{B} complains that the {app} doesn't work and gets a new one.",
            "{A} replaces {B}'s broken {app}."),
         _o(0.5, [(A, ["We can give you your money back."]), (B, ["Good. I'd like that."])],
            "{B} returns a broken {app} and gets the money back.",
            "{A} gives {B} a refund for the {app} that doesn't work.",
            "{B} complains about a new {app}, and {A} gives back the {price} dollars.")],
        [(A, ["What exactly is wrong with it?"]), (B, ["It won't turn on."])],
    ),
    "moving": Scene(
        ("moving house", "new home", "daily casual"), {"street": "street", "day": "day"},
        [(A, ["I heard you are moving.", "Are you really moving?"]),
         (B, ["Yes, to a new flat on {street}.", "Yes, we found a place on {street}."])],
        [_o(0.6, [(A, ["Do you need any help?"]), (B, ["That would be great. We move on {day}."]),
                  (A, ["I'll come on {day} morning."])],
            "{B} is moving to {street} on {day}, and {A} will help.",
            "{A} offers to help {B} move to a flat on {street} on {day}.",
            "{B} moves to {street} on {day} with {A}'s help."),
         _o(0.4, [(A, ["Why are you moving?"]), (B, ["The new place is closer to my office."])],
            "{B} is moving to {street} to be closer to work.",
            "{B} tells {A} about moving to a flat on {street} near the office.",
            "{B} moves to {street} because it's closer to {B}'s office.")],
        [(A, ["Is it bigger than your old flat?"]), (B, ["A little bigger."])],
    ),
    "gym": Scene(
        ("gym", "sports", "exercise"), {"sport": "sport", "price": "price", "n": "small"},
        [(B, ["I'd like to join the {sport} club.", "How can I join your {sport} class?"]),
         (A, ["It's {price} dollars a month.", "Membership is {price} dollars a month."])],
        [_o(0.6, [(B, ["OK, I'll join.", "Fine, sign me up."]), (A, ["Great. Classes are {n} times a week."])],
            "{B} joins the {sport} club for {price} dollars a month.",
            "{B} signs up for {sport} classes, {n} times a week.",
            "{A} helps {B} join the {sport} club."),
         _o(0.4, [(B, ["That's a bit expensive. Let me think about it."])],
            "{B} wants to join the {sport} club but thinks {price} dollars a month is too much.",
            "{B} doesn't join the {sport} club yet because of the price.",
            "{A} tells {B} the {sport} club costs {price} dollars a month, and {B} will think about it.")],
        [(B, ["Do I need my own equipment?"]), (A, ["No, we have everything."])],
    ),
    "pet": Scene(
        ("pets", "daily casual", "animals"), {"pet": "pet", "n": "small"},
        [(A, ["Is that your new {pet}?", "I didn't know you had a {pet}."]),
         (B, ["Yes, I got it {n} weeks ago.", "Yes, my family got it {n} weeks ago."])],
        [_o(0.5, [(A, ["It's so cute. Is it hard to look after?"]), (B, ["Not really, but it needs a lot of time."])],
            "{B} got a {pet} {n} weeks ago and says it needs a lot of time.",
            "{A} and {B} talk about {B}'s new {pet}.",
            "{B} tells {A} that looking after the new {pet} takes time."),
         _o(0.5, [(A, ["Can I look after it when you are away?"]), (B, ["Really? That would help a lot."])],
            "{A} offers to look after {B}'s new {pet}.",
            "{B} got a {pet} {n} weeks ago, and {A} will look after it when {B} is away.",
            "{A} will take care of {B}'s {pet} when {B} travels.")],
        [(A, ["What does it eat?"]), (B, ["Mostly dry food."])],
    ),
    "hobby": Scene(
        ("hobbies", "free time", "daily casual"), {"hobby": "hobby", "n": "small", "day": "day"},
        [(A, ["What do you do in your free time?", "Do you have any hobbies?"]),
         (B, ["I love {hobby}. I've done it for {n} years.", "Mostly {hobby}. I started {n} years ago."])],
        [_o(0.5, [(A, ["I'd like to try that.", "Can you teach me?"]), (B, ["Sure, come on {day}."])],
            "{B} has enjoyed {hobby} for {n} years and will teach {A} on {day}.",
            "{A} wants to try {hobby}, and {B} invites {A} on {day}.",
            "{B} tells {A} about {hobby}, and they will try it together on {day}."),
         _o(0.5, [(A, ["I don't have time for hobbies.", "I'm too busy for that."]), (B, ["You should make some time."])],
            "{B} has loved {hobby} for {n} years, but {A} is too busy for hobbies.",
            "{A} and {B} talk about hobbies. {B} likes {hobby}.",
            "{B} tells {A} about {hobby} and says {A} should make time for a hobby.")],
        [(A, ["Is it expensive?"]), (B, ["Not at all."])],
    ),
    "weather": Scene(
        ("weather", "plans", "daily casual"), {"weather": "weather", "day": "day", "act": "activity"},
        [(A, ["Did you hear the weather forecast?", "What will the weather be like on {day}?"]),
         (B, ["They say there will be {weather} on {day}.", "The forecast says {weather} on {day}."])],
        [_o(0.6, [(A, ["Then we can't {act}.", "So we'd better not {act} that day."]), (B, ["Let's stay at home."])],
            "{A} and {B} won't {act} on {day} because of {weather}.",
            "Because the forecast says {weather}, {A} and {B} decide to stay at home on {day}.",
            "{B} says there will be {weather} on {day}, so they will not {act}."),
         _o(0.4, [(A, ["We can still {act} if we take umbrellas."]), (B, ["OK, let's try."])],
            "{B} hears there will be {weather} on {day}, but they will still {act}.",
            "{A} and {B} will {act} on {day} even though the forecast says {weather}.",
            "Despite {weather} on {day}, {A} and {B} decide to {act}.")],
        [(A, ["It was so hot last week."]), (B, ["Yes, the weather changes a lot."])],
    ),
    "party": Scene(
        ("party", "plans", "invitation", "celebration"), {"party": "party", "day": "day", "time": "time",
                                                            "reason": "reason"},
        [(A, ["I'm having {party} on {day}. Can you come?", "We are holding {party} on {day}. Will you come?"])],
        [_o(0.6, [(B, ["I'd love to. What time?"]), (A, ["At {time}."]), (B, ["I'll be there."])],
            "{A} invites {B} to {party} on {day} at {time}, and {B} will come.",
            "{B} accepts {A}'s invitation to {party} on {day}.",
            "{B} will go to {A}'s {party} on {day} at {time}."),
         _o(0.4, [(B, ["I'm sorry, I have {reason} that day."]), (A, ["That's a pity."])],
            "{A} invites {B} to {party} on {day}, but {B} has {reason}.",
            "{B} can't come to {A}'s {party} because of {reason}.",
            "{B} refuses {A}'s invitation to {party} on {day}.")],
        [(B, ["Who else is invited?"]), (A, ["Most of our classmates."])],
    ),
}


# ---------------------------------------------------------------- drawing
def _pick(r: random.Random, phrasing):
    return r.choice(phrasing) if isinstance(phrasing, list) else phrasing


def _article_fix(text: str) -> str:
    """'a' before a vowel sound becomes 'an' (a orange -> an orange), in dialogue and summary alike."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU]\w)", lambda m: m.group(1) + "n ", text)


def _fill(template: str, slots: dict) -> str:
    text = template.format(**slots)
    return _article_fix(text[0].upper() + text[1:] if text[0].islower() else text)


@dataclass
class Drawn:
    dialogue: str
    summaries: list[str]  # every phrasing of the summary, in random order
    topics: list[str]


def draw(r: random.Random, named: bool | None = None, chatter: bool = True) -> Drawn:
    """One dialogue with all its summary phrasings (the caller picks one, or three for ``test``).

    ``named=True`` draws a chat in which the speakers use names and every summary uses them too,
    with no ``#PersonN#`` tags: the convention of SAMSum, not DialogSum. ``chatter=False`` leaves
    out greetings, small talk and closings.
    """
    scene = SCENES[r.choice(sorted(SCENES))]
    slots = {k: r.choice(V[v]) for k, v in scene.slots.items()}
    out = r.choices(scene.outcomes, weights=[o.weight for o in scene.outcomes])[0]
    samsum = named is True
    named = r.random() < 0.25 if named is None else named
    names = r.sample(NAMES, 3)
    who = {A: names[0], B: names[1]} if named else {}
    slots["X"] = names[2]  # someone the speakers talk about

    core = [(role, _pick(r, text)) for role, text in scene.opening + out.turns]
    first, other = core[0][0], B if core[0][0] == A else A
    turns: list[tuple[str, str]] = []
    if r.random() < (0.75 if chatter else 0.0):  # greeting, sometimes with names
        q, ans = r.choice(GREETINGS)
        if named:
            q, ans = f"Hi, {who[other]}.", f"Oh, hello, {who[first]}."
        turns += [(first, q), (other, ans)]
    n_talk = min(int(r.expovariate(0.4)), 7) if chatter else 0  # a long tail of small talk
    for q, ans in r.sample(SMALL_TALK, n_talk):
        turns += [(first, q), (other, ans)] if r.random() < 0.5 else [(other, q), (first, ans)]
        if r.random() < 0.3:
            q2, ans2 = r.choice(TALK_FOLLOW_UPS)
            turns += [(turns[-2][0], q2), (turns[-1][0], ans2)]
    cut = len(scene.opening)  # details come after the opening, before the outcome
    turns += core[:cut]
    details = [(role, _pick(r, t)) for role, t in scene.details]
    n_det = min(int(r.expovariate(0.5)), len(details) // 2)
    for i in r.sample(range(len(details) // 2), n_det):
        turns += details[2 * i : 2 * i + 2]
    turns += core[cut:]
    three = r.random() < 0.05 and chatter
    if three:
        q, ans = r.choice(INTERJECTIONS)
        turns.insert(r.randint(1, len(turns) - 1), ("C", q))
        turns.insert(turns.index(("C", q)) + 1, (r.choice([A, B]), ans))
    if r.random() < (0.6 if chatter else 0.0):
        q, ans = r.choice(CLOSINGS)
        last = turns[-1][0] if turns[-1][0] in (A, B) else B
        turns += [(B if last == A else A, q), (last, ans)]

    # DialogSum always starts with #Person1#: whoever speaks first is #Person1#.
    tag = {turns[0][0]: P1, (B if turns[0][0] == A else A): P2}
    if not named:
        who = {A: tag[A], B: tag[B]}
    speaker = {**tag, "C": P3}
    slot_text = {**slots, "A": "{A}", "B": "{B}"}
    lines = [f"{speaker[role]}: {_fill(text, slot_text).replace('{A}', who[A]).replace('{B}', who[B])}"
             for role, text in turns]
    summaries = []
    for template in out.summaries:
        people = {A: who[A], B: who[B]} if (named and (samsum or r.random() < 0.6)) else {A: tag[A], B: tag[B]}
        summaries.append(_fill(template, {**slots, "A": people[A], "B": people[B]}))
    r.shuffle(summaries)
    topics = list(scene.topics)
    r.shuffle(topics)
    return Drawn("\n".join(lines), summaries, topics)


def make_dialogue(r: random.Random) -> tuple[str, str, str]:
    """One ``(dialogue, summary, topic)``: the first phrasing and the first topic of :func:`draw`."""
    d = draw(r)
    return d.dialogue, d.summaries[0], d.topics[0]


SPLIT_OFFSET = {"train": 0, "validation": 1, "test": 2}


def make_splits(sizes: dict[str, int], seed: int) -> dict[str, list[dict[str, str]]]:
    """Records for each split, ids like DialogSum's (``train_0``, ``dev_0``, ``test_0_1``..``test_0_3``).

    ``sizes`` counts dialogues; ``test`` has three rows per dialogue. Splits are drawn in the order
    train, validation, test from separate seeded streams, and a dialogue already drawn for an
    earlier split is drawn again, so no validation or test dialogue appears in ``train``.
    """
    seen: set[str] = set()
    out: dict[str, list[dict[str, str]]] = {}
    for split in ("train", "validation", "test"):
        r = random.Random(seed * 1000 + SPLIT_OFFSET[split])
        rows: list[dict[str, str]] = []
        i = 0
        while i < sizes.get(split, 0):
            d = draw(r)
            if d.dialogue in seen:
                continue
            seen.add(d.dialogue)
            if split == "test":
                rows += [{"id": f"test_{i}_{k + 1}", "dialogue": d.dialogue, "summary": d.summaries[k],
                          "topic": d.topics[k % len(d.topics)]} for k in range(3)]
            else:
                prefix = "train" if split == "train" else "dev"
                rows.append({"id": f"{prefix}_{i}", "dialogue": d.dialogue, "summary": d.summaries[0], "topic": d.topics[0]})
            i += 1
        out[split] = rows
    return out


def narratives(n: int, seed: int) -> list[str]:
    """Short third-person sentences about the same scenes, *not* tied to any dialogue.

    A real language model has read a great deal of such prose; the stand-in reads these during its
    pre-training, so it can write fluent sentences. No sentence is paired with a dialogue.
    """
    r = random.Random(seed + 104729)
    out = []
    scenes = list(SCENES.values())
    while len(out) < n:
        scene = r.choice(scenes)
        slots = {k: r.choice(V[v]) for k, v in scene.slots.items()}
        slots["X"] = r.choice(NAMES)
        people = r.sample(NAMES, 2) if r.random() < 0.5 else r.sample([P1, P2], 2)
        outcome = r.choice(scene.outcomes)
        out.append(_fill(r.choice(outcome.summaries), {**slots, "A": people[0], "B": people[1]}))
    return out
