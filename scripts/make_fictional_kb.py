#!/usr/bin/env python3
"""Makes the fictional-registry dataset for the fine-tuning result (issue 9).

Each example gives a record of an invented city (name, country, founding year, mayor, river,
main export, population) in shuffled sentences, asks one question about it in one of several
phrasings, and wants the answer as one line of JSON in a fixed shape:

    {"city": "Velmora", "field": "mayor", "value": "Ilsa Varn"}

Every name is invented from syllables, so no model knows the answers from pre-training, and the
held-out cities never appear in training: a model has to read the record and answer in the
format. Deterministic (fixed seed); stdlib only.

    python3 scripts/make_fictional_kb.py    # writes datasets/fictional-kb/ and tasks/fictional-kb/test.jsonl
"""

import json
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
SYL = ["ka", "lo", "mi", "ver", "ta", "sel", "dor", "ni", "qua", "bel", "ru", "zan", "ost", "fi", "gar", "mel",
       "thi", "pra", "ul", "vex", "sor", "len", "dra", "ki", "mon", "tes", "ari", "bo", "cel", "yr"]
EXPORTS = ["amber glass", "blue salt", "copper bells", "dried figs", "woven reeds", "silver thread", "lamp oil",
           "river pearls", "pine resin", "clay pipes", "wool cloaks", "star charts", "honey wine", "iron nails"]
FIELDS = ["country", "founded", "mayor", "river", "export", "population"]
QUESTIONS = {
    "country": ["Which country is {c} in?", "In what country does {c} lie?", "{c} belongs to which country?"],
    "founded": ["When was {c} founded?", "In which year was {c} founded?", "What year did {c} get founded?"],
    "mayor": ["Who is the mayor of {c}?", "Who runs {c} as mayor?", "Name the mayor of {c}."],
    "river": ["Which river flows through {c}?", "What river runs through {c}?", "Name the river of {c}."],
    "export": ["What is the main export of {c}?", "What does {c} mainly export?", "Which good is {c} known for exporting?"],
    "population": ["How many people live in {c}?", "What is the population of {c}?", "How large is the population of {c}?"],
}


def word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(n)).capitalize()


def city(rng: random.Random, used: set) -> dict:
    while True:
        name = word(rng, rng.choice([2, 3]))
        if name not in used:
            used.add(name)
            break
    return {
        "city": name,
        "country": word(rng, 3),
        "founded": str(rng.randint(900, 2100)),
        "mayor": f"{word(rng, 2)} {word(rng, 2)}",
        "river": word(rng, 2),
        "export": rng.choice(EXPORTS),
        "population": f"{rng.randint(2, 990)},{rng.randint(0, 999):03d}",
    }


def record_text(rng: random.Random, c: dict) -> str:
    n = c["city"]
    s = [
        f"{n} is a city in {c['country']}.",
        f"It was founded in {c['founded']}.",
        f"The mayor of {n} is {c['mayor']}.",
        f"The river {c['river']} flows through {n}.",
        f"Its main export is {c['export']}.",
        f"{n} has a population of {c['population']}.",
    ]
    first, rest = s[0], s[1:]
    rng.shuffle(rest)
    return " ".join([first] + rest)


def example(rng: random.Random, c: dict) -> dict:
    field = rng.choice(FIELDS)
    q = rng.choice(QUESTIONS[field]).format(c=c["city"])
    prompt = f"Record: {record_text(rng, c)}\nQuestion: {q}\nAnswer in JSON:"
    answer = json.dumps({"city": c["city"], "field": field, "value": c[field]})
    return {"prompt": prompt, "answer": answer}


def main() -> None:
    rng = random.Random(20261130)
    used: set = set()
    cities = [city(rng, used) for _ in range(560)]
    train_c, valid_c, test_c = cities[:400], cities[400:440], cities[440:]
    out = ROOT / "datasets" / "fictional-kb"
    out.mkdir(parents=True, exist_ok=True)
    # Training: two questions per city (different fields where the draw allows).
    with open(out / "train.jsonl", "w") as f:
        for c in train_c:
            for _ in range(2):
                e = example(rng, c)
                f.write(json.dumps({"prompt": e["prompt"], "completion": " " + e["answer"]}) + "\n")
    with open(out / "valid.jsonl", "w") as f:
        for c in valid_c:
            e = example(rng, c)
            f.write(json.dumps({"prompt": e["prompt"], "completion": " " + e["answer"]}) + "\n")
    task = ROOT / "tasks" / "fictional-kb"
    task.mkdir(parents=True, exist_ok=True)
    with open(task / "test.jsonl", "w") as f:
        for c in test_c:
            f.write(json.dumps(example(rng, c)) + "\n")


if __name__ == "__main__":
    main()
