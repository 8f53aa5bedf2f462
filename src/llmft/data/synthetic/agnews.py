"""Synthetic news items in exactly the schema of AG News (``fancyzhx/ag_news``).

Each record has ``text`` (a headline, a source in brackets and a one- or two-sentence description,
joined as in the hub copy: ``"Title (Reuters) Reuters - Description"``) and ``label`` (0 World,
1 Sports, 2 Business, 3 Sci/Tech). What keeps the task from being a keyword lookup:

* **Many templates per class** with slots (countries, leaders, companies, teams, products, numbers),
  and several headline and description phrasings each.
* **Overlap between classes**, as in the real data: business stories about sports clubs and
  technology companies, science stories that name companies, world stories about oil and trade.
  The label follows what the story is *about*, not the names in it.
* **Stories that sit between two classes** (:data:`SHARED`), labelled either way, as AG News'
  annotators did: no classifier can get all of them right.
* **The hub's quirks**: sources such as ``(AP)`` or ``(Reuters)``, HTML leftovers (``#39;``,
  ``quot;``) and the occasional backslash before a word.

Splits like the hub's: ``train`` and ``test`` only (the case carves validation from train), with
balanced classes. The generator is deterministic: the same ``seed`` gives the same records.
"""

from __future__ import annotations

import random

LABELS = ("World", "Sports", "Business", "Sci/Tech")

V = {
    "country": ["Iraq", "Iran", "China", "Japan", "Russia", "France", "Germany", "Brazil", "India", "Pakistan",
                "Israel", "Egypt", "Sudan", "Nigeria", "Indonesia", "Mexico", "Ukraine", "Turkey", "Kenya", "Chile"],
    "capital": ["Baghdad", "Tehran", "Beijing", "Tokyo", "Moscow", "Paris", "Berlin", "Brasilia", "New Delhi",
                "Islamabad", "Jerusalem", "Cairo", "Khartoum", "Lagos", "Jakarta", "Mexico City", "Kiev", "Ankara"],
    "leader": ["the prime minister", "the president", "the foreign minister", "the opposition leader",
               "the defence minister", "rebel leaders", "the interior minister"],
    "group": ["rebels", "insurgents", "protesters", "militants", "peacekeepers", "election monitors", "aid workers"],
    "number": ["two", "three", "five", "seven", "12", "15", "20", "30", "dozens of", "hundreds of"],
    "company": ["Microsoft", "Google", "IBM", "Intel", "Oracle", "Apple", "Sony", "Nokia", "Yahoo", "AMD",
                "Dell", "Cisco", "Motorola", "Samsung", "Hewlett-Packard"],
    "firm": ["General Motors", "Ford", "Wal-Mart", "Boeing", "Citigroup", "Exxon Mobil", "Delta Air Lines",
             "Kmart", "Sears", "Pfizer", "Merck", "Coca-Cola", "Disney", "Time Warner", "Nestle"],
    "team": ["the Red Sox", "the Yankees", "Manchester United", "Arsenal", "Chelsea", "the Lakers",
             "the Patriots", "the Eagles", "Real Madrid", "Liverpool", "the Cardinals", "the Astros"],
    "player": ["Roger Federer", "Tiger Woods", "Michael Phelps", "Thierry Henry", "Lance Armstrong",
               "Andy Roddick", "Serena Williams", "Shaquille O'Neal", "Barry Bonds", "Wayne Rooney"],
    "event": ["the Olympics", "the World Series", "the US Open", "the Ryder Cup", "the Champions League",
              "the Super Bowl", "Wimbledon", "the Tour de France", "the NBA finals"],
    "score": ["3-1", "2-0", "4-2", "1-0", "5-3", "7-6", "2-2", "28-14", "101-95"],
    "product": ["a new search engine", "a music download service", "a faster chip", "a mobile phone",
                "a security patch", "a software update", "a handheld game console", "a web browser",
                "a digital camera", "a flat-screen television"],
    "science": ["a new planet", "a distant galaxy", "a dinosaur fossil", "a gene linked to cancer",
                "water on Mars", "a new species of frog", "a comet", "ancient climate records"],
    "agency": ["NASA", "the European Space Agency", "scientists", "researchers", "astronomers", "biologists"],
    "percent": ["2", "3.5", "5", "8", "10", "12", "15", "20", "25", "40"],
    "money": ["\\$1.2 billion", "\\$350 million", "\\$4 billion", "\\$75 million", "\\$2.5 billion", "\\$900 million"],
    "quarter": ["first-quarter", "second-quarter", "third-quarter", "fourth-quarter"],
    "commodity": ["oil", "crude oil", "gold", "copper", "natural gas"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
SOURCES = ["Reuters", "AP", "AFP", "Reuters", "AP", "CNN", "Canadian Press", "Sports Network", "TechWeb",
           "Ziff Davis", "NewsFactor", "Forbes", "Space.com", "MarketWatch"]

# Per class: (headline phrasings, description phrasings). Slots in braces come from V.
TEMPLATES: dict[int, list[tuple[list[str], list[str]]]] = {
    0: [  # World
        (["{number} Killed in {capital} Bombing", "Blast Kills {number} in {capital}"],
         ["A car bomb exploded near a police station in {capital} on {weekday}, killing {number} people, officials said.",
          "At least {number} people died when a bomb went off in central {capital}, {leader} said."]),
        (["{country} Holds Talks on Nuclear Program", "{country} Rejects Nuclear Deadline"],
         ["{leader} of {country} said the country would not give up its nuclear program despite pressure from Europe.",
          "Diplomats met in Vienna as {country} faced a deadline to halt uranium enrichment."]),
        (["{group} Clash With Troops in {country}", "Fighting Flares in {country}"],
         ["{group} fought government troops near {capital} for a second day, leaving {number} dead.",
          "Government forces in {country} launched an offensive against {group} on {weekday}."]),
        (["{country} Votes in Disputed Election", "Polls Open in {country}"],
         ["Millions of voters in {country} went to the polls on {weekday} as {group} watched for fraud.",
          "{leader} claimed victory in {country} #39;s presidential election, but the opposition cried foul."]),
        (["UN Sends Aid to {country}", "Aid Reaches Refugees in {country}"],
         ["The United Nations flew food and medicine to {number} refugees in {country} after weeks of fighting.",
          "Aid agencies warned of famine in {country} as {group} blocked roads to the camps."]),
        (["{country} Oil Pipeline Attacked", "Oil Exports Halted After Attack in {country}"],
         ["Saboteurs blew up an oil pipeline in {country}, halting exports and raising fears for the country #39;s security.",
          "{group} attacked a pipeline in northern {country}, the latest in a string of assaults on oil facilities."]),
        (["Hostages Freed in {country}", "{country} Kidnappers Release Aid Worker"],
         ["Kidnappers in {country} freed {number} hostages on {weekday} after talks led by {leader}.",
          "An aid worker held for weeks in {country} was released, quot;tired but well quot;, officials said."]),
        (["{country} and {country2} Sign Trade Pact", "{country} Leader Visits {country2}"],
         ["{leader} of {country} arrived in {country2} for talks on security and trade, the first visit in a decade.",
          "{country} and {country2} agreed to settle a border dispute, {leader} told reporters in {capital}."]),
    ],
    1: [  # Sports
        (["{team} Beat Rivals {score}", "{team} Win {score}", "{team} Rally Past Rivals"],
         ["{team} scored twice in the second half to win {score} on {weekday} and move to the top of the table.",
          "A late goal gave {team} a {score} victory, their {number2} straight win."]),
        (["{player} Advances at {event}", "{player} Wins Opening Match"],
         ["{player} beat a qualifier in straight sets on {weekday} to reach the third round of {event}.",
          "{player} overcame a slow start and won {score} to advance at {event}."]),
        (["{player} Wins Gold", "Gold for {player} at {event}"],
         ["{player} won gold at {event} on {weekday}, setting a record in the final.",
          "{player} took the title at {event}, beating the defending champion."]),
        (["{team} Fire Coach After Losing Streak", "{team} Name New Manager"],
         ["{team} dismissed their coach on {weekday} after {number2} straight defeats.",
          "{team} hired a new manager, hoping to turn around a season of losses."]),
        (["{player} Out With Injury", "Injury Sidelines {player}"],
         ["{player} will miss {event} with a knee injury, the team said on {weekday}.",
          "Doctors said {player} needs surgery and could be out for {number2} weeks."]),
        (["{team} Reach the Final", "{team} Clinch Playoff Spot"],
         ["{team} beat their rivals {score} to book a place in the final.",
          "{team} clinched a playoff berth with a {score} win, led by {number2} points from their captain."]),
        (["Doping Scandal Hits {event}", "Athletes Fail Drug Tests at {event}"],
         ["{number} athletes at {event} tested positive for banned drugs, officials said.",
          "The scandal cast a shadow over {event} as officials stripped a champion of his medal."]),
    ],
    2: [  # Business
        (["{firm} Profit Rises {percent}%", "{firm} Beats Forecasts", "{firm} Quarterly Earnings Jump"],
         ["{firm} said {quarter} profit rose {percent} percent to {money}, helped by strong sales.",
          "{firm} reported {quarter} earnings of {money}, beating Wall Street forecasts."]),
        (["{firm} to Cut {number} Jobs", "{firm} Announces Layoffs"],
         ["{firm} will cut thousands of jobs and close {number2} plants to reduce costs, the company said on {weekday}.",
          "Struggling {firm} announced layoffs as sales fell {percent} percent."]),
        (["Stocks Fall as {commodity} Prices Climb", "Wall St. Slips on {commodity} Worries", "Stocks Rally as {commodity} Eases"],
         ["Stocks fell on {weekday} as {commodity} prices hit a record, raising fears for company profits.",
          "The Dow rose {percent} points as {commodity} prices eased and investors bought bank shares."]),
        (["{firm} Agrees to Buy Rival for {money}", "{firm} in {money} Takeover Deal"],
         ["{firm} agreed to buy a smaller rival for {money} in cash and stock, creating the biggest company in its industry.",
          "The takeover, worth {money}, must still be approved by regulators."]),
        (["Fed Raises Interest Rates", "Dollar Falls Against Euro", "Consumer Prices Rise {percent}%"],
         ["The Federal Reserve raised interest rates by a quarter point on {weekday}, its {number2} rise this year.",
          "The dollar fell against the euro after figures showed the trade deficit widened to {money}."]),
        (["{team} Shares Jump on Takeover Bid", "Investor Bids for {team}", "{team} Reports Record Revenue"],
         ["Shares in {team} rose {percent} percent after an American investor made a {money} bid for the club.",
          "{team} said revenue rose to {money} thanks to new sponsorship and television deals, sending its shares higher."]),
        (["{company} Shares Slide on Weak Sales", "{company} Cuts Sales Forecast", "{company} Profit Falls"],
         ["Shares of {company} fell {percent} percent after the company cut its sales forecast for the {quarter}.",
          "{company} said {quarter} profit fell to {money} as demand for personal computers slowed."]),
        (["{country} Economy Grows {percent}%", "{country} Cuts Oil Output"],
         ["The economy of {country} grew {percent} percent last year, helped by exports and high {commodity} prices.",
          "{country} will cut {commodity} production, sending prices higher on world markets."]),
    ],
    3: [  # Sci/Tech
        (["{company} Launches {product_t}", "{company} Unveils {product_t}"],
         ["{company} on {weekday} launched {product}, hoping to win users from its rivals.",
          "{company} unveiled {product} that it says is twice as fast as its previous one."]),
        (["New Virus Targets {company} Software", "{company} Warns of Security Flaw"],
         ["A new computer worm is spreading through e-mail and attacks computers running {company} software.",
          "{company} released a patch for a flaw that could let hackers take over a computer."]),
        (["{agency} Find {science_t}", "Scientists Discover {science_t}"],
         ["{agency} said on {weekday} they had found {science}, a discovery that could change our view of the past.",
          "Using a powerful telescope, {agency} spotted {science} for the first time."]),
        (["Spacecraft Reaches Saturn", "Probe Sends Pictures From Mars", "Space Station Crew Returns"],
         ["A spacecraft built by {agency} sent back its first pictures on {weekday} after a seven-year journey.",
          "{agency} said the probe was working well and would study the planet for {number2} years."]),
        (["{company} Sues Over Patents", "{company} Settles Patent Case"],
         ["{company} sued a smaller rival, saying it copied its technology for {product}.",
          "{company} agreed to pay {money} to settle a patent dispute over its software."]),
        (["Study Links Mobile Phones to Health Risk", "Climate Study Warns of Rising Seas"],
         ["A study by {agency} found that {science} may be more common than scientists thought.",
          "{agency} warned that rising temperatures could melt Arctic ice faster than expected."]),
        (["{company} Opens Online Music Store", "File-Sharing Networks Face Lawsuits", "Spam Levels Rise"],
         ["{company} opened an online music store on {weekday}, offering songs for 99 cents each.",
          "Music companies filed lawsuits against {number} people accused of sharing songs on the internet."]),
        (["{team} Stadium Gets Wireless Internet", "Sports Fans Get Scores on Phones"],
         ["{company} will provide wireless internet at the stadium of {team}, letting fans watch replays on handheld devices.",
          "A new service from {company} sends live scores of {event} to mobile phones."]),
    ],
}

# Stories that sit between two classes. AG News' annotators filed such stories under either (earnings of
# a technology company under Business or Sci/Tech, oil and trade under World or Business), so no
# classifier gets them all right: about one record in eight comes from here, labelled either way.
SHARED: list[tuple[list[str], list[str], tuple[int, ...]]] = [
    (["{company} Profit Beats Estimates", "{company} Quarterly Sales Rise", "{company} Shares Fall After Earnings"],
     ["{company} said {quarter} profit rose {percent} percent as sales of servers and software grew.",
      "Shares of {company} slipped in late trading after its {quarter} results missed forecasts."], (2, 3)),
    (["{commodity} Prices Hit Record on {country} Unrest", "{country} Strike Lifts {commodity} Prices"],
     ["{commodity} prices jumped to a record as unrest in {country} threatened exports.",
      "A strike by oil workers in {country} cut output and sent {commodity} prices higher."], (0, 2)),
    (["{country} Bids to Host {event}", "Security Fears Over {event}"],
     ["{leader} of {country} said the country would bid to host {event}, promising new stadiums.",
      "Officials in {country} stepped up security ahead of {event} after threats from {group}."], (0, 1)),
    (["{company} to Sponsor {team}", "{company} Signs Deal With {team}"],
     ["{company} agreed a {money} deal to sponsor {team}, putting its name on the team #39;s shirts.",
      "The sponsorship deal between {company} and {team} is worth {money} over five years."], (1, 2)),
]


def _title(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] if w.islower() and len(w) > 3 else w for w in text.split(" "))


def draw(r: random.Random, label: int) -> str:
    """One news item of class ``label``, as AG News joins it: ``title (source) source - description``."""
    shared = [(h, d) for h, d, labels in SHARED if label in labels]
    heads, descs = r.choice(shared) if r.random() < 0.125 else r.choice(TEMPLATES[label])
    slots = {k: r.choice(v) for k, v in V.items()}
    slots["country2"] = r.choice([c for c in V["country"] if c != slots["country"]])
    slots["number2"] = r.choice(["two", "three", "four", "five", "six"])
    slots["product_t"] = _title(slots["product"].split(" ", 1)[1])
    slots["science_t"] = _title(slots["science"].split(" ", 1)[1] if slots["science"].startswith("a ") else slots["science"])
    title = r.choice(heads).format(**slots)
    sentences = [d.format(**slots) for d in r.sample(descs, r.choice((1, 2)))]
    desc = " ".join(t[0].upper() + t[1:] for t in sentences)
    if r.random() < 0.05:  # the hub copy has stray backslashes where line breaks were
        words = desc.split(" ")
        k = r.randrange(1, len(words))
        words[k] = "\\" + words[k]
        desc = " ".join(words)
    source = r.choice(SOURCES)
    return f"{title} ({source}) {source} - {desc}"


def make_splits(sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Balanced ``train`` and ``test`` records (``{"text", "label"}``), no text in both splits.

    ``sizes`` counts records per split; each class gets a quarter. Like the hub, there is no
    validation split.
    """
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for k, split in enumerate(("train", "test")):
        r = random.Random(seed * 1000 + 10 + k)
        rows: list[dict] = []
        n = sizes.get(split, 0)
        while len(rows) < n:
            label = len(rows) % 4
            text = draw(r, label)
            if text in seen:
                continue
            seen.add(text)
            rows.append({"text": text, "label": label})
        r.shuffle(rows)
        out[split] = rows
    return out
