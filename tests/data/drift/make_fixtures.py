#!/usr/bin/python3
"""Regenerate the small CSV fixtures of tests/unit/test_saqrctl_drift.c (run from this folder).

baseline.csv: 1000 rows of age, income (every 50th empty), city (one value quoted, it has a
comma) and score. current_same.csv: the same rows shuffled, columns reordered, CRLF line ends
(no drift, every score exact). current_drift.csv: 800 rows, age +12, income x2 (NA where it was
empty), a new city every 7th row, score unchanged. malformed.csv misses a field on line 5;
bad_number.csv has a word in a numeric column on line 4.
"""
import random

random.seed(7)
cities = ["Dubai", "Abu Dhabi, UAE", "Sharjah", "Al Ain"]
rows = []
for i in range(1000):
    age = round(random.gauss(38, 9), 1)
    income = "" if i % 50 == 0 else str(round(random.lognormvariate(9, 0.4)))
    city = random.choices(cities, [5, 3, 2, 1])[0]
    score = round(random.random(), 4)
    rows.append((age, income, city, score))


def q(s):
    return '"%s"' % s.replace('"', '""') if ("," in s or '"' in s) else s


with open("baseline.csv", "w") as f:
    f.write("age,income,city,score\n")
    for a, inc, c, s in rows:
        f.write(f"{a},{inc},{q(c)},{s}\n")
same = rows[:]
random.shuffle(same)
with open("current_same.csv", "w", newline="") as f:
    f.write("city,score,age,income\r\n")
    for a, inc, c, s in same:
        f.write(f"{q(c)},{s},{a},{inc}\r\n")
with open("current_drift.csv", "w") as f:
    f.write("age,income,city,score\n")
    for i, (a, inc, c, s) in enumerate(rows[:800]):
        city = '"Ras Al Khaimah"' if i % 7 == 0 else q(c)
        inc2 = str(int(inc) * 2) if inc else "NA"
        f.write(f"{round(a + 12, 1)},{inc2},{city},{s}\n")
with open("malformed.csv", "w") as f:
    f.write("age,income,city,score\n40,1000,Dubai,0.5\n41,1100,Dubai,0.6\n42,1200,Dubai,0.7\n43,1300,Dubai\n")
with open("bad_number.csv", "w") as f:
    f.write("age,income,city,score\n40,1000,Dubai,0.5\n41,1100,Dubai,0.6\nforty,1200,Dubai,0.7\n")
