"""Synthetic news articles in exactly the schema of XSum (``EdinburghNLP/xsum``).

Each record has ``document`` (a news article, one paragraph per line), ``summary`` (one sentence)
and ``id`` (a number as a string), like the hub copy. What makes it XSum-like rather than a copy task:

* **Long documents.** Details, quotes, background and context that the summary leaves out, with a
  long tail: most articles run to a few hundred words, some far more, so a 512-token limit cuts
  some of them and the facts a summary needs can lie late in the text.
* **Abstractive, one-sentence summaries.** XSum's summaries are the articles' introductory
  sentences, removed from the document. Here too the summary states the story's point in words
  the document does not use verbatim, and the document starts with the next sentence. Every fact
  the summary names (the town, the firm, the number...) is somewhere in the document, phrased
  differently.
* **Variety.** Ten kinds of story on four news desks, several phrasings of every sentence, slots for
  people, places, organisations and numbers, quotes from people who would speak on that story,
  and background drawn from the story's own desk.

:func:`pretraining_articles` writes *whole* articles (introduction first) for the offline stand-in's
pre-training, from a separate random stream. The generator is deterministic: the same ``seed`` gives
the same records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

V = {
    "town": ["Cardiff", "Swansea", "Belfast", "Glasgow", "Leeds", "Bristol", "Norwich", "Aberdeen", "Dundee",
             "Newport", "Plymouth", "Derby", "Exeter", "Inverness", "Wrexham", "Hull", "Carlisle", "Bangor",
             "Stirling", "Lincoln", "Preston", "Llanelli", "Lisburn", "Perth"],
    "region": ["north Wales", "the Highlands", "Northern Ireland", "Yorkshire", "Cornwall", "the West Midlands",
               "Cumbria", "Fife", "Kent", "Lancashire", "south Wales", "Devon"],
    "player": ["Jamie", "Liam", "Connor", "Ryan", "Kieran", "Callum", "Declan", "Owen", "Scott", "Aaron"],
    "last": ["Jones", "Williams", "Smith", "Campbell", "Evans", "Thomas", "Stewart", "Roberts", "Murray", "Hughes",
             "Patel", "Reid", "Morgan", "Davies", "Wilson", "Kelly", "Price", "Fraser"],
    "team": ["Cardiff City", "Swansea City", "Celtic", "Rangers", "Leeds United", "Bristol Rovers", "Norwich City",
             "Aberdeen", "Hull City", "Derby County", "Plymouth Argyle", "Exeter City", "Dundee United", "Wrexham"],
    "rival": ["Hearts", "Hibernian", "Reading", "Millwall", "Blackpool", "Motherwell", "Oxford United",
              "Stoke City", "Barnsley", "Kilmarnock", "Luton Town", "Portsmouth"],
    "firm": ["a bus company", "a steel firm", "a supermarket chain", "an engineering firm", "a bakery",
             "a call centre", "a car parts maker", "a chemicals plant", "a shipyard", "a clothing retailer"],
    "building": ["school", "library", "swimming pool", "leisure centre", "health centre", "bridge",
                 "railway station", "care home", "community hall"],
    "number": ["two", "three", "four", "five", "six", "eight", "ten", "12", "15"],
    "years": ["two", "three", "four", "five"],
    "jobs": ["40", "75", "120", "200", "350", "500", "800", "1,200"],
    "money": ["£2m", "£5m", "£12m", "£30m", "£450,000", "£1.5m", "£80m", "£250,000"],
    "age": ["19", "23", "31", "37", "44", "52", "67", "78"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "month": ["January", "March", "April", "June", "September", "October", "November"],
    "score": ["2-1", "1-0", "3-2", "2-0", "4-1", "3-0"],
    "animal": ["seal", "otter", "red squirrel", "golden eagle", "pine marten", "dolphin", "osprey", "water vole"],
    "festival": ["music festival", "food festival", "book festival", "agricultural show", "arts festival"],
    "illness": ["measles", "norovirus", "flu", "Legionnaires' disease", "scarlet fever"],
    "year": ["1968", "1974", "1982", "1990", "1997", "2003"],
}


@dataclass(frozen=True)
class Story:
    desk: str  # which pool of background it draws from
    intro: tuple[str, ...]  # the story's point, several phrasings: the summary (never in the document)
    facts: tuple[tuple[str, ...], ...]  # sentences that carry the summary's facts (each: phrasings)
    roles: tuple[str, ...]  # who is quoted on this kind of story
    quotes: tuple[str, ...]  # what they say ({speaker} is filled in)
    background: tuple[str, ...]  # context particular to this kind of story


STORIES: dict[str, Story] = {
    "closure": Story(
        "business",
        ("{Firm} in {town} is to close with the loss of {jobs} jobs.",
         "Up to {jobs} jobs are to go after {firm} announced it will shut its {town} site.",
         "The closure of {firm}'s site in {town} will cost {jobs} jobs, the company has confirmed."),
        (("Staff were told at a meeting on {day} that the {town} site would stop production in {month}.",
          "Workers in {town} were called to a meeting on {day} and told the doors would shut in {month}."),
         ("The owners of the business, {firm}, blamed rising energy costs and falling orders.",
          "Managers at {firm} said higher costs and weaker demand had left the plant losing money."),
         ("In total {jobs} people are employed there, many of whom have worked at the plant for decades.",
          "The plant employs {jobs} people, some of them for more than 20 years.")),
        ("a union official", "the local MP", "a worker at the site", "the council leader"),
        ('"This is a devastating day for {town} and for every family that relies on the plant," said {speaker}.',
         '"People are shocked. Nobody saw this coming," said {speaker}.',
         '"We will fight to keep as many of these jobs as we can," said {speaker}.'),
        ("The site opened in {year} and once employed more than twice as many people.",
         "Unions said they would seek urgent talks with the company to find a buyer.",
         "The company said it would offer redundancy packages and help staff find new work."),
    ),
    "investment": Story(
        "business",
        ("A {money} investment will create {jobs} jobs at {firm} in {town}.",
         "{Firm} is to create {jobs} jobs in {town} as part of a {money} expansion.",
         "Plans to expand {firm} in {town} will bring {jobs} new jobs, the firm says."),
        (("The expansion at the {town} site will be paid for with {money} from the owners and the government.",
          "Ministers and the company will share the cost of the {money} scheme in {town}."),
         ("Recruitment will begin in {month}, with {jobs} posts to be filled over three years.",
          "The firm expects to take on {jobs} people, with the first posts advertised in {month}."),
         ("The business, {firm}, already employs several hundred staff.",
          "Bosses at {firm} said the decision reflected strong orders.")),
        ("the economy minister", "the company's chief executive", "the council leader", "a local business leader"),
        ('"This is a real vote of confidence in {town}," said {speaker}.',
         '"It is great news for young people looking for work," said {speaker}.',
         '"We chose this site because of the skills of the people who live here," said {speaker}.'),
        ("Unemployment in {region} has been above the UK average for several years.",
         "The money will pay for a new building, machinery and a training centre.",
         "The firm said it would work with local colleges to offer apprenticeships."),
    ),
    "match": Story(
        "sport",
        ("{Team} came from behind to beat {rival} {score}.",
         "A late goal gave {team} a {score} win over {rival}.",
         "{Team} won {score} against {rival} to end a run of defeats."),
        (("{Rival} took the lead just before half-time when a corner was headed in.",
          "The visitors, {rival}, went ahead after 38 minutes with a header from a corner."),
         ("{Player} {last} equalised for {team} soon after the break with a low shot.",
          "Substitute {player} {last} levelled for {team} with 20 minutes left."),
         ("The winner came in stoppage time, and the match finished {score}.",
          "A deflected shot in the final minute settled it at {score}.")),
        ("the home manager", "the visiting manager", "the club captain"),
        ('"The players never gave up and they deserved that," said {speaker}.',
         '"We showed real character today," said {speaker}.',
         '"It is a hard one to take after the way we played in the first half," said {speaker}.'),
        ("They had lost their previous four league games.",
         "The result lifts them three places in the table.",
         "Both sides finished the game with ten men after a late scuffle."),
    ),
    "signing": Story(
        "sport",
        ("{Team} have signed striker {player} {last} from {rival} on a {years}-year deal.",
         "Striker {player} {last} has joined {team} from {rival}, signing a {years}-year contract.",
         "{Team} have completed the signing of {rival} forward {player} {last}."),
        (("{Player} {last}, who scored 14 goals last season, passed a medical on {day}.",
          "The forward, {player} {last}, had a medical on {day} before agreeing terms."),
         ("He leaves {rival} after three seasons at the club.",
          "His former club, {rival}, had rejected an earlier offer."),
         ("The deal with {team} runs for {years} years, with the option of a further year.",
          "He has agreed a {years}-year contract with {team}.")),
        ("the new manager", "the club's director of football", "the player"),
        ('"He is exactly the kind of player we have been looking for," said {speaker}.',
         '"I could not wait to get started here," said {speaker}.',
         '"He brings pace and goals, and he is still improving," said {speaker}.'),
        ("The fee was not disclosed.",
         "He is the club's fourth signing of the summer.",
         "He will wear the number nine shirt."),
    ),
    "court": Story(
        "crime",
        ("A {age}-year-old man has been jailed for {number} years for a series of burglaries in {town}.",
         "A man who broke into homes across {town} has been sent to prison for {number} years.",
         "A burglar who targeted elderly people in {town} has been jailed for {number} years."),
        (("The man, who is {age}, admitted breaking into homes in {town} at an earlier hearing.",
          "The {age}-year-old had pleaded guilty to burglaries across {town}."),
         ("The court heard he stole jewellery, cash and electrical goods, mostly from elderly people.",
          "The judge was told he took cash and jewellery worth thousands of pounds."),
         ("Jailing him for {number} years, the judge said the crimes had caused real fear.",
          "He was given a sentence of {number} years on {day}.")),
        ("the judge", "a detective inspector", "one of the victims' relatives"),
        ('"These crimes left people frightened in their own homes," said {speaker}.',
         '"I hope this sentence brings some comfort to the victims," said {speaker}.',
         '"He showed no thought for the harm he was causing," said {speaker}.'),
        ("Police said they had recovered some of the stolen items.",
         "Officers thanked the public for their help with the investigation.",
         "He was arrested after his fingerprints were found at one of the houses."),
    ),
    "rescue": Story(
        "local",
        ("{Number} people were rescued after being cut off by the tide near {town}.",
         "A lifeboat crew saved {number} walkers stranded on rocks near {town}.",
         "Coastguards rescued {number} people who got into difficulty off the coast near {town}."),
        (("The alarm was raised shortly after 15:00 on {day} when the group was seen on rocks near {town}.",
          "Emergency services were called on {day} afternoon to a beach close to {town}."),
         ("A lifeboat and a helicopter were sent, and the {number} were brought to safety.",
          "Crews from two lifeboat stations took part, and the {number} were taken off the rocks by boat.")),
        ("a coastguard spokesman", "the lifeboat's helmsman", "a local councillor"),
        ('"They were very lucky. The water was rising fast," said {speaker}.',
         '"People should always check the tide times before they set out," said {speaker}.',
         '"Our volunteers train for exactly this kind of call," said {speaker}.'),
        ("They were checked by paramedics and later allowed home.",
         "It was the third rescue in the area this month.",
         "The beach is popular with walkers, but the tide comes in quickly."),
    ),
    "funding": Story(
        "local",
        ("Plans for a new {building} in {town} costing {money} have been approved.",
         "{Town} is to get a new {building} after councillors backed a {money} scheme.",
         "A {money} plan to build a {building} in {town} has been given the go-ahead."),
        (("Councillors in {town} voted in favour of the scheme on {day}.",
          "The planning committee in {town} approved the proposals at a meeting on {day}."),
         ("The new {building} will cost {money}, paid for by the council and a government grant.",
          "The council will borrow part of the {money} needed for the {building}."),
         ("Work is expected to start in {month} and take two years.",
          "Building work should begin in {month}.")),
        ("the council leader", "a local councillor", "a campaigner", "a resident"),
        ('"This will make a huge difference to the community," said {speaker}.',
         '"We have waited a long time for this," said {speaker}.',
         '"Some of us are worried about the traffic it will bring," said {speaker}.'),
        ("The old building was closed three years ago after problems were found with its roof.",
         "Campaigners have called for a replacement for more than a decade.",
         "Some residents objected to the plans over traffic and parking."),
    ),
    "festival": Story(
        "local",
        ("This year's {festival} in {town} has been cancelled because of rising costs.",
         "Organisers have called off the {festival} in {town}, blaming costs.",
         "There will be no {festival} in {town} this year after organisers ran out of money."),
        (("The {festival} had been due to take place in {town} in {month}.",
          "The event usually brings thousands of visitors to {town} in {month}."),
         ("Organisers said the cost of staging it had doubled, and they could not afford to go ahead.",
          "Ticket sales had not kept up with the cost of security and staging, the organisers said.")),
        ("the festival's director", "a local business owner", "a regular visitor"),
        ('"We are heartbroken to make this decision," said {speaker}.',
         '"Local businesses will really miss the trade," said {speaker}.',
         '"We hope to be back next year, bigger and better," said {speaker}.'),
        ("The festival was first held in {year}.",
         "It has raised more than {money} for local charities over the years.",
         "Ticket holders will get a full refund."),
    ),
    "outbreak": Story(
        "health",
        ("Cases of {illness} in {region} have risen to {number}, health officials say.",
         "Health officials in {region} are investigating an outbreak of {illness}.",
         "An outbreak of {illness} in {region} has led to a warning from health officials."),
        (("Officials in {region} confirmed {number} cases of {illness} on {day}.",
          "By {day}, {number} people in {region} had been diagnosed with {illness}."),
         ("Most of those affected live in or near {town}.",
          "The cases are concentrated around {town}.")),
        ("a public health consultant", "a GP in the area", "a health board spokeswoman"),
        ('"The risk to the wider public remains low," said {speaker}.',
         '"Anyone with symptoms should stay at home and call their GP," said {speaker}.',
         '"We are working to find the source as quickly as we can," said {speaker}.'),
        ("Two people are being treated in hospital.",
         "Samples have been sent for testing.",
         "Schools in the area have been sent advice to pass on to parents."),
    ),
    "wildlife": Story(
        "local",
        ("A {animal} has been seen near {town} for the first time in decades.",
         "Wildlife experts are delighted after a {animal} was spotted near {town}.",
         "The first {animal} seen near {town} in years has delighted nature lovers."),
        (("A walker photographed the {animal} on {day} morning on the edge of {town}.",
          "The animal, a {animal}, was spotted by a dog walker near {town} on {day}."),
         ("Experts later confirmed the sighting from the photograph.",
          "A local wildlife group checked the picture and confirmed what it showed.")),
        ("a wildlife trust officer", "the walker who took the photograph", "a conservation volunteer"),
        ('"It is a wonderful sign that the habitat is recovering," said {speaker}.',
         '"We had almost given up hope of seeing one here," said {speaker}.',
         '"I could not believe my eyes," said {speaker}.'),
        ("Numbers fell sharply in the last century because of habitat loss.",
         "Conservation projects in {region} have tried to bring the species back.",
         "People are asked not to disturb the animal or share its exact location."),
    ),
}

DESKS: dict[str, tuple[str, ...]] = {  # background any story of the desk might carry
    "business": (
        "The latest figures show manufacturing output in {region} fell for the third quarter in a row.",
        "Energy prices for businesses have more than doubled in two years, according to industry groups.",
        "Several other firms in {region} have cut jobs or hours in recent months.",
        "The government said it was ready to help those affected find new work or training.",
        "Economists say smaller towns are hit hardest when a large employer changes its plans.",
        "The area has a long history of heavy industry, much of which has gone.",
        "A business group said the decision showed the need for better roads and rail links.",
        "The company's annual report showed sales had fallen by a fifth last year.",
        "Union membership at the site is high, and talks with managers have been tense.",
        "Local shops and suppliers say they depend on the wages paid at the site.",
        "The Welsh and Scottish governments both run schemes to attract investment.",
        "Figures from the Office for National Statistics show wages in {region} lag behind the UK average.",
        "A report last year warned that the sector would shrink without new investment.",
        "The firm's shares were little changed after the announcement.",
    ),
    "sport": (
        "The club has struggled for consistency since the start of the season.",
        "Supporters have been critical of the board's spending in the transfer window.",
        "A crowd of more than 12,000 was at the ground.",
        "Injuries have left the squad short in defence for several weeks.",
        "The manager has been under pressure after a poor run of results.",
        "Next up is a trip away from home on Saturday.",
        "The club were promoted two seasons ago and have spent heavily since.",
        "Academy players have been given more chances in the first team this year.",
        "The league table is tight, with only a few points separating the top eight.",
        "Ticket prices at the ground were frozen for a third season.",
        "The stadium is due to be expanded next summer.",
        "The two sides drew when they met earlier in the season.",
    ),
    "crime": (
        "Burglaries in the area have risen over the past year, according to police figures.",
        "Police have urged people to keep doors and windows locked, even when they are at home.",
        "Neighbourhood watch groups in {town} have seen a rise in membership.",
        "Officers say many crimes of this kind are carried out to pay for drugs.",
        "The force has set up a team to investigate crimes against older people.",
        "Victims' groups say the effects of a break-in can last for years.",
        "The court was told he had a long list of previous convictions.",
        "His lawyer said he had struggled with addiction since his teens.",
        "Two other men have been charged in connection with the case and will appear in court later.",
        "Police said the investigation had involved hours of CCTV footage.",
        "A victim impact statement was read to the court.",
        "The force said it would continue to target those responsible for burglaries.",
    ),
    "local": (
        "The council is under pressure to make savings of several million pounds next year.",
        "Residents will be able to give their views at a public meeting later in the year.",
        "The story has been widely shared on social media.",
        "Visitor numbers to the area have grown since a new walking route opened.",
        "The town's high street has lost several shops in recent years.",
        "Volunteers have played a large part in the life of the community.",
        "The area is popular with tourists in the summer months.",
        "Local people have been sharing their reaction online.",
        "A similar scheme in a neighbouring town was judged a success.",
        "The local paper has followed the story closely.",
        "Funding for community projects has been cut in many parts of the UK.",
        "Further details are expected to be published later this month.",
        "Police closed a nearby road for several hours.",
        "The weather in {region} has been unusually mild this year.",
    ),
    "health": (
        "The health board said it had written to GPs in the area.",
        "Symptoms usually appear within a few days and last about a week.",
        "Hospitals in {region} have been under pressure all winter.",
        "Vaccination rates in some parts of {region} are below the target.",
        "Officials say good hand washing is the best way to stop infections spreading.",
        "Visiting at two hospital wards has been restricted.",
        "The last large outbreak in the area was several years ago.",
        "Experts say cases often rise at this time of year.",
        "A helpline has been set up for people who are worried.",
        "Public health teams are contacting people who may have been exposed.",
        "The health board said it would publish updated figures every week.",
        "Care homes in the area have been told to take extra precautions.",
    ),
}
GENERAL = (  # context any article may carry
    "It is not the first time the issue has been raised.",
    "A report on the matter is due to be published in the spring.",
    "The announcement was welcomed by some but criticised by others.",
    "Similar stories have been reported in other parts of the UK.",
    "More information is expected in the coming weeks.",
    "Politicians from several parties have commented on the news.",
    "It follows months of speculation.",
    "The issue is expected to be discussed at the next council meeting.",
    "Opinion in the area is divided.",
    "Some of those involved declined to comment when contacted.",
    "The news comes at a difficult time for many families.",
    "Campaigners say the decision should have been made years ago.",
    "A spokesperson said a full statement would follow.",
    "The figures were published in a report on {day}.",
    "Critics say lessons have not been learned from the past.",
    "The UK government said it was a matter for the local authorities.",
    "Social media posts about the news were shared thousands of times.",
    "Several people who spoke to reporters asked not to be named.",
    "It has been a busy year for the emergency services in {region}.",
    "A petition on the subject has gathered more than 2,000 signatures.",
)


def _slots(r: random.Random) -> dict:
    s = {k: r.choice(v) for k, v in V.items()}
    while s["rival"] == s["team"]:
        s["rival"] = r.choice(V["rival"])
    for k in ("firm", "team", "rival", "town", "number", "player"):  # capitalised at the start of a sentence
        s[k.capitalize()] = s[k][0].upper() + s[k][1:]
    return s


def _fill(text: str, slots: dict) -> str:
    out = text.format(**slots)
    return out[0].upper() + out[1:]


def draw(r: random.Random, length: float | None = None) -> tuple[str, str, list[str]]:
    """One story: ``(introduction, document, summaries)``.

    The introduction (one sentence) is what XSum removed from the article to make the summary; the
    document is the rest, one paragraph per line. ``summaries`` are every phrasing of the point, the
    introduction first. ``length`` scales how much background the article carries (drawn when None).
    """
    kind = r.choice(sorted(STORIES))
    story, slots = STORIES[kind], _slots(r)
    pick = lambda phrasings: _fill(r.choice(phrasings), slots)  # noqa: E731
    speakers = r.sample(story.roles, 2)
    quotes = [_fill(q, {**slots, "speaker": sp}) for q, sp in zip(r.sample(story.quotes, 2), speakers)]
    facts = [pick(f) for f in story.facts]
    # Background: the story's own, then its desk's, then general context; a long tail of lengths.
    if length is None:
        length = r.lognormvariate(0.0, 0.55)
    desk = DESKS[story.desk] + (DESKS["local"] if story.desk != "local" else ())  # every story is local news too
    n_desk = min(len(desk), int(round(11 * length)))
    n_general = min(len(GENERAL), int(round(5 * length)))
    extra = [_fill(b, slots) for b in story.background]
    extra += [_fill(b, slots) for b in (r.sample(DESKS[story.desk], min(n_desk, len(DESKS[story.desk])))
                                        + r.sample(desk[len(DESKS[story.desk]):], max(0, n_desk - len(DESKS[story.desk]))))]
    extra += [_fill(b, slots) for b in r.sample(GENERAL, n_general)]
    r.shuffle(extra)
    # The first fact opens the document (XSum's documents start right after the introduction); the other
    # facts and the quotes fall anywhere, so a summary may need a sentence far down the article.
    rest = facts[1:] + quotes
    slots_at = sorted(r.randrange(len(extra) + 1) for _ in rest)
    body = list(extra)
    for offset, (pos, sentence) in enumerate(zip(slots_at, rest)):
        body.insert(pos + offset, sentence)
    sentences = [facts[0], *body]
    # Paragraphs of one to three sentences, as news sites print them.
    paragraphs, k = [], 0
    while k < len(sentences):
        n = r.choice((1, 1, 2, 2, 3))
        paragraphs.append(" ".join(sentences[k : k + n]))
        k += n
    summaries = [_fill(t, slots) for t in story.intro]
    first = r.randrange(len(summaries))
    summaries = summaries[first:] + summaries[:first]
    return summaries[0], "\n".join(paragraphs), summaries


def make_splits(sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """``train``/``validation``/``test`` records (``document``, ``summary``, ``id``); no document in two splits."""
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    next_id = 30000000 + seed * 100000
    for k, split in enumerate(("train", "validation", "test")):
        r = random.Random(seed * 1000 + 20 + k)
        rows: list[dict] = []
        while len(rows) < sizes.get(split, 0):
            _, document, summaries = draw(r)
            if document in seen:
                continue
            seen.add(document)
            next_id += 1 + r.randrange(50)
            rows.append({"document": document, "summary": summaries[0], "id": str(next_id)})
        out[split] = rows
    return out


def pretraining_articles(n: int, seed: int, length: float = 0.35) -> list[str]:
    """``n`` *whole* short articles (introduction first), from a random stream the splits never use."""
    r = random.Random(seed * 7 + 424242)
    articles = []
    for _ in range(n):
        intro, document, _ = draw(r, length=length * r.uniform(0.5, 1.5))
        articles.append(intro + "\n" + document)
    return articles
